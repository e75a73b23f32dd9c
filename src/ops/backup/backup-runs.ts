import type { Config } from '../../config/schema.js';
import type { OutgoingObserver } from '../../platform/outgoing/outgoing-calls.js';
import { packageVersion } from '../../package-info.js';
import { backupIdentity, backupRecipients } from './age-keys.js';
import { listBackups } from './backup-catalog.js';
import { dataFileName, metadataName, reportName, type BackupLabel, type BackupMetadata } from './backup-metadata.js';
import { backupStoreFor, configuredPostgres, gitSha, keySettings, retentionPolicy } from './backup-settings.js';
import type { BackupStore } from './backup-store.js';
import { createBackup } from './create-backup.js';
import { lockEmbedded, openEmbedded } from './embedded-database.js';
import { dumpPGlite } from './pglite-dump.js';
import { dumpPostgres } from './postgres-dump.js';
import type { Progress } from './progress.js';
import { verifyBackup, type DrillReport } from './restore-drill.js';
import { planRetention, type RetentionPlan } from './retention.js';

// The operations as the CLI and the worker's jobs run them, from the configuration.

export interface RunOptions {
  destination?: string | undefined;
  /** Sees the store's S3 requests (tracing). */
  observe?: OutgoingObserver | undefined;
  progress?: Progress;
  warn?: (message: string) => void;
}

/** `rampart backup`: the configured database (PostgreSQL, or the embedded one when it is not in use). */
export async function backupNow(config: Config, label: BackupLabel, options: RunOptions & { acceptShrink?: boolean } = {}): Promise<{ metadata: BackupMetadata; store: BackupStore }> {
  const store = backupStoreFor(config, options.destination, options.observe);
  const keys = await backupRecipients(keySettings(config));
  if (keys.generatedKeyFile) options.warn?.(`generated a backup key pair in ${keys.generatedKeyFile} (development only): keep a copy, without it these backups cannot be opened; production needs BACKUP_RECIPIENTS`);
  const postgres = configuredPostgres(config);
  const common = { label, store, recipients: keys.recipients, rampartVersion: packageVersion, gitSha: await gitSha(), acceptShrink: options.acceptShrink, progress: options.progress, warn: options.warn };
  if (postgres) return { metadata: await createBackup({ ...common, dump: () => dumpPostgres(postgres) }), store };
  const lock = await lockEmbedded(config.dataDir);
  try {
    const pglite = await openEmbedded(config.dataDir);
    try {
      return { metadata: await createBackup({ ...common, dump: () => dumpPGlite(pglite) }), store };
    } finally {
      await pglite.close();
    }
  } finally {
    await lock.release();
  }
}

/** `rampart backup verify`: the drill runs on the configured server, or in a scratch embedded database. */
export async function verifyNow(config: Config, which: string, options: RunOptions = {}): Promise<DrillReport> {
  return verifyBackup({
    store: backupStoreFor(config, options.destination, options.observe),
    which,
    identity: () => backupIdentity(keySettings(config)),
    server: configuredPostgres(config),
    progress: options.progress,
  });
}

/** `rampart backup prune`: applies retention; with dryRun only says what it would delete. */
export async function pruneNow(config: Config, options: RunOptions & { dryRun?: boolean; now?: Date } = {}): Promise<RetentionPlan> {
  const store = backupStoreFor(config, options.destination, options.observe);
  const entries = await listBackups(store);
  const plan = planRetention(
    entries.map((e) => ({ id: e.metadata.id, createdAt: new Date(e.metadata.createdAt), label: e.metadata.label, verified: e.drill?.ok === true })),
    options.now ?? new Date(),
    retentionPolicy(config),
  );
  if (options.dryRun) return plan;
  for (const id of plan.remove) {
    const metadata = entries.find((e) => e.metadata.id === id)!.metadata;
    // Metadata first: a prune cut short leaves an unlisted file, never a listed backup without one.
    await store.remove(metadataName(id));
    for (const name of [dataFileName(id, metadata.dump), reportName(id, 'json'), reportName(id, 'md')]) await store.remove(name);
  }
  return plan;
}
