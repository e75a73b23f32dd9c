import { chmod, chown, mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BackupError } from '../ops/backup/backup-error.js';
import { DEFAULT_PGBACKREST_CONFIG, PASSPHRASE_PLACEHOLDER, pitrConfig } from '../ops/backup/pitr-config.js';
import { restoreToTime } from '../ops/backup/pitr-restore.js';
import { asCli } from './backup.js';
import { resolveConfig } from './bootstrap.js';

export interface PitrConfigOptions { repo: string; stanza: string; pgPath: string; retentionFull: string; write?: string; json?: boolean }

/** `rampart backup pitr-config`: the pgBackRest stanza and postgresql.conf settings for continuous WAL archiving. */
export async function pitrConfigCommand(options: PitrConfigOptions, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const config = await resolveConfig();
  await asCli(async () => {
    const dir = options.write ? path.resolve(options.write) : undefined;
    const configFile = dir ? path.join(dir, 'pgbackrest.conf') : DEFAULT_PGBACKREST_CONFIG;
    const pitr = pitrConfig({
      repo: options.repo,
      stanza: options.stanza,
      pgPath: options.pgPath,
      retentionFull: Number(options.retentionFull),
      configFile,
      s3: { region: config.s3Region, endpoint: config.s3Endpoint, forcePathStyle: config.s3ForcePathStyle },
    });
    const passphrase = config.backupPitrCipherPass;
    const written: string[] = [];
    if (dir) {
      if (!passphrase) throw new BackupError('bad_input', 'BACKUP_PITR_CIPHER_PASS is not set: the repository is encrypted with it (generate one with `openssl rand -base64 48` and store it as a secret)');
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await writeFile(configFile, pitr.pgbackrestConf(passphrase), { mode: 0o600 });
      await chmod(configFile, 0o600); // an existing file keeps its mode otherwise
      const pgConf = path.join(dir, 'postgresql.pitr.conf');
      await writeFile(pgConf, pitr.postgresqlConf);
      written.push(configFile, pgConf);
      await giveToClusterOwner(options.pgPath, [dir, ...written]);
    } else if (!passphrase) {
      process.stderr.write('warning: BACKUP_PITR_CIPHER_PASS is not set; set it before writing the configuration with --write\n');
    }
    const shown = pitr.pgbackrestConf(PASSPHRASE_PLACEHOLDER);
    if (options.json) {
      return void out.write(`${JSON.stringify({ stanza: options.stanza, repo: options.repo, pgbackrest_conf: shown, config_file: configFile, postgresql: pitr.postgresql, steps: pitr.steps, written }, null, 2)}\n`);
    }
    out.write(`# ${configFile}${dir ? ' (written, 0600, with the passphrase)' : ''}\n${shown}\n`);
    out.write(`# postgresql.conf${dir ? ` (written to ${written[1]}: include it, or copy the lines)` : ''}\n${pitr.postgresqlConf}\n`);
    out.write(`# then, as the postgres user:\n${pitr.steps.map((s, i) => `${i + 1}. ${s}`).join('\n')}\n`);
  });
}

export interface RestoreToTimeOptions { toTime: string; stanza: string; pg1Path?: string; config?: string; delta?: boolean; json?: boolean }

/** `rampart restore --to-time T`: pgBackRest restores the stopped cluster to T; PostgreSQL replays WAL up to T and promotes on its next start. */
export async function restoreToTimeCommand(options: RestoreToTimeOptions, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  await asCli(async () => {
    if (!options.pg1Path) throw new BackupError('bad_input', '--to-time needs --pg1-path DIR: the data directory of the stopped PostgreSQL cluster');
    const result = await restoreToTime({ toTime: options.toTime, stanza: options.stanza, pgPath: options.pg1Path, config: options.config, delta: options.delta === true });
    if (options.json) return void out.write(`${JSON.stringify({ stanza: options.stanza, pg1_path: path.resolve(options.pg1Path), target: result.target })}\n`);
    out.write(`restored ${path.resolve(options.pg1Path)} from stanza ${options.stanza} for recovery to ${result.target}\n`);
    out.write('start PostgreSQL now: it replays the archived WAL up to that time, then promotes and accepts writes\n');
  });
}

/** Run as root, the files go to the owner of the data directory: archive_command runs as that user and must read them. */
async function giveToClusterOwner(pgPath: string, files: string[]): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const owner = await stat(pgPath).catch(() => undefined);
  if (!owner) return;
  for (const file of files) await chown(file, owner.uid, owner.gid);
}
