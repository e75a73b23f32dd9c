import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Config } from '../../config/schema.js';
import { packageRoot } from '../../package-info.js';
import type { OutgoingObserver } from '../../platform/outgoing/outgoing-calls.js';
import type { KeySettings } from './age-keys.js';
import type { BackupStore } from './backup-store.js';
import { createLocalBackupStore } from './local-backup-store.js';
import type { PostgresConnection } from './postgres-connection.js';
import { createS3BackupStore, parseS3Destination } from './s3-backup-store.js';
import type { RetentionPolicy } from './retention.js';

/** BACKUP_DESTINATION (or `--to`): a directory, or `s3://bucket/prefix` with the S3_* settings of documents. */
export function backupStoreFor(config: Config, destination?: string, observe?: OutgoingObserver): BackupStore {
  const where = destination ?? config.backupDestination ?? path.join(config.dataDir, 'backups');
  const s3 = parseS3Destination(where);
  if (!s3) return createLocalBackupStore(where);
  return createS3BackupStore({
    ...s3,
    region: config.s3Region,
    endpoint: config.s3Endpoint,
    forcePathStyle: config.s3ForcePathStyle,
    encryption: { algorithm: config.s3Sse as 'AES256' | 'aws:kms', kmsKeyId: config.s3SseKmsKeyId },
    observe,
  });
}

export function keySettings(config: Config): KeySettings {
  return { env: config.env as KeySettings['env'], dataDir: config.dataDir, recipients: config.backupRecipients, identity: config.backupIdentity };
}

/** The configured PostgreSQL (DATABASE_URL + DATABASE_PASSWORD), or undefined for embedded. */
export function configuredPostgres(config: Config): PostgresConnection | undefined {
  return config.databaseUrl ? { url: config.databaseUrl, password: config.databasePassword } : undefined;
}

/** Why the worker takes no backups, or undefined when it does (`rampart doctor` reports it too). */
export function whyNotScheduled(config: Config): string | undefined {
  if (config.databaseUrl === undefined) return 'the embedded database is locked by this process; stop it and run `rampart backup` (or use DATABASE_URL)';
  if (config.env === 'production' && config.backupRecipients.length === 0) return 'BACKUP_RECIPIENTS is not set (production encrypts backups to public keys you hold the private half of)';
  return undefined;
}

export function retentionPolicy(config: Config): RetentionPolicy {
  return {
    hourlyDays: config.backupKeepHourlyDays,
    dailyDays: config.backupKeepDailyDays,
    weeklyWeeks: config.backupKeepWeeklyWeeks,
    monthlyMonths: config.backupKeepMonthlyMonths,
    manualDays: config.backupKeepManualDays,
  };
}

const run = promisify(execFile);

/** RAMPART_GIT_SHA (set by the image build), else the checkout's HEAD, else null. */
export async function gitSha(): Promise<string | null> {
  const fromEnv = process.env.RAMPART_GIT_SHA?.trim();
  if (fromEnv) return fromEnv;
  try {
    const { stdout } = await run('git', ['rev-parse', 'HEAD'], { cwd: packageRoot, timeout: 2_000 });
    return /^[0-9a-f]{40}$/.test(stdout.trim()) ? stdout.trim() : null;
  } catch {
    return null;
  }
}
