import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SecretEntry, SecretProvider } from '../platform/secrets/secret-provider.js';

/**
 * Secrets the platform cannot run without. Development invents them once and keeps them in
 * a 0600 file so restarts keep sessions and encrypted data readable; production must be
 * given them by a provider.
 */
export const REQUIRED_SECRETS = ['APP_SECRET', 'FIELD_ENCRYPTION_KEYS', 'API_KEY_PEPPER'] as const;

/** A strong random value in the format each required secret takes. */
export function generateSecretValue(key: string): string {
  if (key === 'FIELD_ENCRYPTION_KEYS') return newFieldKeyEntry();
  return randomBytes(32).toString('base64url');
}

/** `kid:key` for a new field-encryption key: the kid says when it was made, a random suffix keeps two made the same second apart. */
export function newFieldKeyEntry(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').slice(0, 15);
  return `k${stamp}-${randomBytes(3).toString('hex')}:${randomBytes(32).toString('base64url')}`;
}

/**
 * The last provider of the development chain: `<dataDir>/secrets.json` (0600), holding the
 * generated secrets. `rampart secrets rotate` writes here when no other provider holds the
 * secret. Files written before step 4 used property names (`appSecret`); they are read too.
 */
export function generatedSecretsProvider(dataDir: string): SecretProvider {
  const file = join(dataDir, 'secrets.json');
  return {
    name: 'generated',
    async load() {
      const stored = await readStored(file);
      const out = new Map<string, SecretEntry>();
      if (!stored) return out;
      // writeFile's mode only applies on creation; an existing file may have been loosened.
      await chmod(file, 0o600);
      const changedAt = (await stat(file)).mtime;
      for (const [name, value] of Object.entries(stored.values)) {
        const key = name === 'appSecret' ? 'APP_SECRET' : name;
        if (typeof value === 'string') out.set(key, { value, version: stored.versions[key], changedAt: stored.changed[key] ? new Date(stored.changed[key]) : changedAt });
      }
      return out;
    },
    async write(key, value) {
      const stored = (await readStored(file)) ?? { values: {}, versions: {}, changed: {} };
      const version = String(Number(stored.versions[key] ?? 0) + 1);
      stored.values[key] = value;
      stored.versions[key] = version;
      stored.changed[key] = new Date().toISOString();
      await mkdir(dataDir, { recursive: true });
      const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`;
      const { values, versions, changed } = stored;
      await writeFile(temporary, JSON.stringify({ ...values, _versions: versions, _changed: changed }, null, 2), { mode: 0o600 });
      await rename(temporary, file);
      return { version };
    },
  };
}

interface Stored {
  values: Record<string, unknown>;
  versions: Record<string, string>;
  changed: Record<string, string>;
}

async function readStored(file: string): Promise<Stored | undefined> {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${file} is unreadable or not JSON; delete it to regenerate development secrets`, { cause: err });
  }
  const { _versions, _changed, ...values } = parsed;
  return { values, versions: (_versions ?? {}) as Record<string, string>, changed: (_changed ?? {}) as Record<string, string> };
}
