import { BackupError } from './backup-error.js';

/** What `rampart backup pitr-config` is asked for: where the pgBackRest repository lives and what it serves. */
export interface PitrSettings {
  /** A directory, or `s3://bucket/prefix`. */
  repo: string;
  stanza: string;
  /** The PostgreSQL data directory (`pg1-path`). */
  pgPath: string;
  retentionFull: number;
  /** Where pgbackrest.conf will live; archive_command names it unless it is pgBackRest's default. */
  configFile: string;
  s3: { region?: string; endpoint?: string; forcePathStyle: boolean };
}

export interface PitrConfig {
  /** pgbackrest.conf with `passphrase` in place of the cipher passphrase. */
  pgbackrestConf(passphrase: string): string;
  postgresql: Record<string, string>;
  postgresqlConf: string;
  steps: string[];
}

export const DEFAULT_PGBACKREST_CONFIG = '/etc/pgbackrest/pgbackrest.conf';
export const PASSPHRASE_PLACEHOLDER = '<from BACKUP_PITR_CIPHER_PASS>';
/** The bound on lost commits: PostgreSQL archives a partly filled WAL segment after this long. */
export const ARCHIVE_TIMEOUT_S = 60;

const STANZA = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** The pgBackRest stanza, the postgresql.conf settings and the operator's first steps, for a repository on disk or S3. */
export function pitrConfig(settings: PitrSettings): PitrConfig {
  if (!STANZA.test(settings.stanza)) throw new BackupError('bad_input', `--stanza must be letters, digits, '-' or '_' (got "${settings.stanza}")`);
  if (!settings.pgPath.startsWith('/')) throw new BackupError('bad_input', `--pg-path must be an absolute path (got "${settings.pgPath}")`);
  if (!Number.isInteger(settings.retentionFull) || settings.retentionFull < 1 || settings.retentionFull > 9_999_999) {
    throw new BackupError('bad_input', '--retention-full must be a whole number of full backups, at least 1');
  }
  const repo = repoLines(settings);
  const configArg = settings.configFile === DEFAULT_PGBACKREST_CONFIG ? '' : ` --config=${settings.configFile}`;
  const pgbackrest = `pgbackrest${configArg} --stanza=${settings.stanza}`;
  const postgresql: Record<string, string> = {
    archive_mode: 'on',
    archive_command: `'${pgbackrest} archive-push %p'`,
    archive_timeout: String(ARCHIVE_TIMEOUT_S),
    wal_level: 'replica',
    max_wal_senders: '3',
  };
  return {
    pgbackrestConf: (passphrase) =>
      [
        '[global]',
        ...repo,
        'repo1-cipher-type=aes-256-cbc',
        `repo1-cipher-pass=${passphrase}`,
        `repo1-retention-full=${settings.retentionFull}`,
        'compress-type=zst',
        'start-fast=y',
        '',
        `[${settings.stanza}]`,
        `pg1-path=${settings.pgPath}`,
        '',
      ].join('\n'),
    postgresql,
    postgresqlConf: `${Object.entries(postgresql).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`,
    steps: [
      'add the postgresql.conf settings and restart PostgreSQL (archive_mode needs a restart)',
      `${pgbackrest} stanza-create`,
      `${pgbackrest} check`,
      `${pgbackrest} backup --type=full`,
      `schedule \`${pgbackrest} backup --type=full\` weekly and \`--type=diff\` daily (cron of the postgres user)`,
    ],
  };
}

function repoLines(settings: PitrSettings): string[] {
  if (!settings.repo.startsWith('s3://')) {
    if (!settings.repo.startsWith('/')) throw new BackupError('bad_input', `--repo must be an absolute directory or s3://bucket/prefix (got "${settings.repo}")`);
    return [`repo1-path=${settings.repo}`];
  }
  const url = new URL(settings.repo);
  if (!url.hostname) throw new BackupError('bad_input', `--repo s3://bucket/prefix needs a bucket (got "${settings.repo}")`);
  const endpoint = settings.s3.endpoint ? new URL(settings.s3.endpoint) : undefined;
  const region = settings.s3.region ?? process.env.AWS_REGION;
  if (!region) throw new BackupError('bad_input', 'an S3 repository needs a region: set S3_REGION (or AWS_REGION)');
  return [
    'repo1-type=s3',
    `repo1-s3-bucket=${url.hostname}`,
    `repo1-path=${url.pathname.replace(/\/+$/, '') || '/'}`,
    `repo1-s3-region=${region}`,
    `repo1-s3-endpoint=${endpoint ? endpoint.host : `s3.${region}.amazonaws.com`}`,
    ...(settings.s3.forcePathStyle ? ['repo1-s3-uri-style=path'] : []),
    // Instance or task role credentials; static keys go in PGBACKREST_REPO1_S3_KEY(_SECRET), never in this file.
    'repo1-s3-key-type=auto',
  ];
}
