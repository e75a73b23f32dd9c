import { BackupError } from '../ops/backup/backup-error.js';
import { listBackups } from '../ops/backup/backup-catalog.js';
import { LABELS, type BackupLabel } from '../ops/backup/backup-metadata.js';
import { backupNow, pruneNow, verifyNow } from '../ops/backup/backup-runs.js';
import { backupStoreFor, configuredPostgres, keySettings } from '../ops/backup/backup-settings.js';
import { backupIdentity } from '../ops/backup/age-keys.js';
import { planRetention } from '../ops/backup/retention.js';
import { restoreBackup } from '../ops/backup/restore-backup.js';
import { retentionPolicy } from '../ops/backup/backup-settings.js';
import { totalRows } from '../ops/backup/table-stats.js';
import { CliExit, EXIT, resolveConfig } from './bootstrap.js';
import { cliProgress, mib } from './backup-progress.js';

/** Exit codes of the backup commands, beyond the shared ones (2 bad input or config, 3 refused as unsafe, 5 embedded database in use). */
export const BACKUP_EXIT = { ...EXIT, mismatch: 6 } as const;

export interface BackupOptions { to?: string; label: string; acceptShrink?: boolean; json?: boolean }

/** `rampart backup`: one encrypted, verified backup of the whole database. */
export async function backupCommand(options: BackupOptions, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  if (!(LABELS as readonly string[]).includes(options.label)) throw new CliExit(EXIT.badConfig, [`rampart backup: --label must be one of ${LABELS.join(', ')}`]);
  const config = await resolveConfig();
  await asCli(async () => {
    const { metadata, store } = await backupNow(config, options.label as BackupLabel, { destination: options.to, acceptShrink: options.acceptShrink, progress: cliProgress(), warn });
    if (options.json) return void out.write(`${JSON.stringify({ id: metadata.id, file: store.describe(metadata.file), bytes: metadata.sizes.encryptedBytes, duration_ms: metadata.durationMs, sha256: metadata.sha256, tables: Object.keys(metadata.tables).length, rows: totalRows(metadata.tables) })}\n`);
    out.write(`backup ${metadata.id} complete: ${mib(metadata.sizes.encryptedBytes)} (dump ${mib(metadata.sizes.dumpBytes)}) in ${(metadata.durationMs / 1000).toFixed(1)} s, ${Object.keys(metadata.tables).length} tables, ${totalRows(metadata.tables)} rows\n`);
    out.write(`  file    ${store.describe(metadata.file)}\n  sha256  ${metadata.sha256} (verified after writing)\n`);
  });
}

/** `rampart backup list`: id, time, label, size, retention tier and drill outcome of each complete backup. */
export async function backupListCommand(options: { to?: string; json?: boolean }, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const config = await resolveConfig();
  await asCli(async () => {
    const store = backupStoreFor(config, options.to);
    const entries = await listBackups(store);
    const plan = planRetention(entries.map((e) => ({ id: e.metadata.id, createdAt: new Date(e.metadata.createdAt), label: e.metadata.label, verified: e.drill?.ok === true })), new Date(), retentionPolicy(config));
    const rows = entries.map(({ metadata, drill }) => ({
      id: metadata.id,
      created_at: metadata.createdAt,
      label: metadata.label,
      bytes: metadata.sizes.encryptedBytes,
      tier: plan.keep.find((k) => k.id === metadata.id)?.tier ?? 'expired',
      verified: drill ? (drill.ok ? 'passed' : 'failed') : 'never',
      verified_at: drill?.at ?? null,
      source: metadata.source,
    }));
    if (options.json) return void out.write(`${JSON.stringify({ location: store.location, backups: rows }, null, 2)}\n`);
    if (rows.length === 0) return void out.write(`no backups in ${store.location}\n`);
    out.write(`${store.location}\n`);
    out.write(`${'id'.padEnd(24)} ${'created (UTC)'.padEnd(20)} ${'label'.padEnd(10)} ${'size'.padStart(10)}  ${'tier'.padEnd(15)} drill\n`);
    for (const r of rows) out.write(`${r.id.padEnd(24)} ${r.created_at.slice(0, 19).replace('T', ' ').padEnd(20)} ${r.label.padEnd(10)} ${mib(r.bytes).padStart(10)}  ${r.tier.padEnd(15)} ${r.verified}${r.verified_at ? ` ${r.verified_at.slice(0, 19)}` : ''}\n`);
  });
}

/** `rampart backup verify [ID|latest]`: the restore drill. */
export async function backupVerifyCommand(which: string, options: { to?: string; json?: boolean }, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const config = await resolveConfig();
  await asCli(async () => {
    const report = await verifyNow(config, which, { destination: options.to, progress: cliProgress() });
    if (options.json) return void out.write(`${JSON.stringify(report)}\n`);
    out.write(`restore drill of ${report.id} passed: ${report.tables.compared} tables match (counts and checksums), migration ${report.migrations.restored ?? 'none'}, ${(report.durationMs / 1000).toFixed(1)} s\n`);
    if (report.leftoversDropped.length > 0) out.write(`dropped ${report.leftoversDropped.length} scratch databases that killed drills left over a day ago: ${report.leftoversDropped.join(', ')}\n`);
  });
}

/** `rampart backup prune [--dry-run]`. */
export async function backupPruneCommand(options: { to?: string; dryRun?: boolean; json?: boolean }, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const config = await resolveConfig();
  await asCli(async () => {
    const plan = await pruneNow(config, { destination: options.to, dryRun: options.dryRun });
    if (options.json) return void out.write(`${JSON.stringify({ dry_run: options.dryRun === true, ...plan })}\n`);
    const verb = options.dryRun ? 'would delete' : 'deleted';
    out.write(plan.remove.length === 0 ? `nothing to delete; ${plan.keep.length} backups kept\n` : `${verb} ${plan.remove.length} backups, kept ${plan.keep.length}\n${plan.remove.map((id) => `  ${verb} ${id}\n`).join('')}`);
  });
}

export interface RestoreOptions { to?: string; targetUrl?: string; force?: boolean; toTime?: string; stanza: string; pg1Path?: string; config?: string; delta?: boolean; json?: boolean }

/** `rampart restore ID|latest`: into the configured database, or --target-url; `--to-time T`: point-in-time recovery through pgBackRest. */
export async function restoreCommand(which: string | undefined, options: RestoreOptions, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  if (options.toTime !== undefined) {
    if (which !== undefined) throw new CliExit(EXIT.badConfig, [`rampart restore: --to-time restores from the pgBackRest repository; leave out the backup id (${which})`]);
    return (await import('./backup-pitr.js')).restoreToTimeCommand({ ...options, toTime: options.toTime }, out);
  }
  if (which === undefined) throw new CliExit(EXIT.badConfig, ['rampart restore: name a backup (an id or latest), or give --to-time T for point-in-time recovery']);
  const config = await resolveConfig();
  await asCli(async () => {
    const postgres = options.targetUrl ? { url: options.targetUrl, password: undefined } : configuredPostgres(config);
    const result = await restoreBackup({
      store: backupStoreFor(config, options.to),
      which,
      identity: () => backupIdentity(keySettings(config)),
      target: postgres ? { kind: 'postgres', connection: postgres } : { kind: 'pglite', dataDir: config.dataDir },
      force: options.force === true,
      progress: cliProgress(),
    });
    if (options.json) return void out.write(`${JSON.stringify({ id: result.metadata.id, previous: result.previous ?? null })}\n`);
    out.write(`restored ${result.metadata.id} (${Object.keys(result.metadata.tables).length} tables, ${totalRows(result.metadata.tables)} rows, every table checked)\n`);
    if (result.previous) out.write(`the previous contents were kept as ${result.previous}; drop it once you are satisfied\n`);
  });
}

function warn(message: string): void {
  process.stderr.write(`warning: ${message}\n`);
}

/** A BackupError becomes its message and exit code, never a stack trace. */
export async function asCli(work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (error instanceof BackupError) {
      const code = { bad_input: EXIT.badConfig, refused: EXIT.unsafeForProduction, failed: EXIT.failure, mismatch: BACKUP_EXIT.mismatch }[error.kind];
      throw new CliExit(code, [`rampart: ${error.message}`]);
    }
    throw error;
  }
}
