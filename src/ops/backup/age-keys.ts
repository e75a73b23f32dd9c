import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { BackupError } from './backup-error.js';

// Backups are encrypted to X25519 recipients (public keys), so the machine that makes them
// needs no secret; the identity (private key) is needed only to verify or restore.

/** Where development keeps its generated key pair, in the age CLI's key-file format. */
export const devKeyFile = (dataDir: string): string => path.join(dataDir, 'backup-age-key.txt');

export interface KeySettings {
  env: 'development' | 'production';
  dataDir: string;
  recipients: readonly string[];
  /** BACKUP_IDENTITY from the secrets chain. */
  identity?: string | undefined;
}

export interface Recipients {
  recipients: string[];
  /** Set when development generated the key pair just now: the caller warns once. */
  generatedKeyFile?: string;
}

/** The public keys to encrypt to; development generates a key pair into the data directory when none is configured. */
export async function backupRecipients(settings: KeySettings): Promise<Recipients> {
  if (settings.recipients.length > 0) {
    for (const recipient of settings.recipients) {
      if (!/^age1[02-9ac-hj-np-z]{58}$/.test(recipient)) throw new BackupError('bad_input', `BACKUP_RECIPIENTS: ${JSON.stringify(recipient.slice(0, 12))}… is not an age X25519 recipient (age1…, from \`age-keygen\`)`);
    }
    return { recipients: [...settings.recipients] };
  }
  if (settings.env === 'production') throw new BackupError('refused', 'BACKUP_RECIPIENTS is not set: production backups are encrypted to public keys you hold the private half of (`age-keygen -o key.txt`, then set the printed public key)');
  const file = devKeyFile(settings.dataDir);
  const existed = existsSync(file);
  const identity = await developmentIdentity(settings.dataDir);
  return { recipients: [await identityToRecipient(identity)], ...(existed ? {} : { generatedKeyFile: file }) };
}

/** The private key that opens backups: BACKUP_IDENTITY, else (development) the generated key file. */
export async function backupIdentity(settings: KeySettings): Promise<string> {
  const configured = settings.identity?.trim();
  if (configured) {
    const line = configured.split('\n').map((l) => l.trim()).find((l) => l.startsWith('AGE-SECRET-KEY-'));
    if (!line) throw new BackupError('bad_input', 'BACKUP_IDENTITY is not an age identity (AGE-SECRET-KEY-1…, the private line of `age-keygen`)');
    return line;
  }
  const file = devKeyFile(settings.dataDir);
  if (settings.env === 'development' && existsSync(file)) return developmentIdentity(settings.dataDir);
  throw new BackupError('refused', 'BACKUP_IDENTITY is not set: verifying or restoring a backup needs the private key it was encrypted to');
}

async function developmentIdentity(dataDir: string): Promise<string> {
  const file = devKeyFile(dataDir);
  if (existsSync(file)) {
    const line = (await readFile(file, 'utf8')).split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-'));
    if (!line) throw new BackupError('bad_input', `${file} holds no age identity; delete it to have a new key pair generated`);
    return line.trim();
  }
  const identity = await generateX25519Identity();
  await mkdir(dataDir, { recursive: true });
  const recipient = await identityToRecipient(identity);
  await writeFile(file, `# created: ${new Date().toISOString()}\n# public key: ${recipient}\n${identity}\n`, { mode: 0o600, flag: 'wx' });
  await chmod(file, 0o600);
  return identity;
}
