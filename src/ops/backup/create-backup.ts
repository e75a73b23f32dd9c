import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { BackupError } from './backup-error.js';
import { dataFileName, metadataName, newBackupId, type BackupLabel, type BackupMetadata } from './backup-metadata.js';
import { listBackups } from './backup-catalog.js';
import type { BackupStore, PendingFile } from './backup-store.js';
import type { DumpSource, SnapshotFacts } from './dump-source.js';
import { every, silentProgress, type Progress } from './progress.js';
import { digestOf, measuring, seal } from './sealed-stream.js';
import { totalRows } from './table-stats.js';

export interface BackupRequest {
  label: BackupLabel;
  store: BackupStore;
  recipients: readonly string[];
  /** Starts the dump; called once the store and keys are known to be usable. */
  dump: () => Promise<DumpSource>;
  rampartVersion: string;
  gitSha: string | null;
  /** Take the backup even when it holds far fewer rows than the previous one (a deliberate purge). */
  acceptShrink?: boolean;
  progress?: Progress;
  now?: () => Date;
  /** Told about a backup refused or taken despite a warning. */
  warn?: (message: string) => void;
}

/**
 * One backup: dump → zstd → age → SHA-256 → store, never a plaintext byte on disk. The file
 * is read back and its checksum compared before it is published; its metadata, written last,
 * makes it complete. Anything failing leaves no complete backup behind.
 */
export async function createBackup(request: BackupRequest): Promise<BackupMetadata> {
  const now = request.now ?? (() => new Date());
  const progress = request.progress ?? silentProgress;
  const started = now();
  const previous = (await listBackups(request.store)).at(-1)?.metadata;
  const id = newBackupId(started, randomBytes(3).toString('hex'));
  const source = await request.dump();
  const file = dataFileName(id, source.dump);
  const sealed = seal(source.stream, request.recipients);
  const measured = measuring();
  sealed.stream.on('error', (error) => measured.stream.destroy(error));
  const body: Readable = sealed.stream.pipe(measured.stream);
  const stopTicking = every(1_000, () => progress.update('dump', sealed.plainBytes()));

  const [uploaded, dumped] = await Promise.allSettled([request.store.upload(file, body), source.done]);
  stopTicking();
  let pending: PendingFile | undefined = uploaded.status === 'fulfilled' ? uploaded.value : undefined;
  try {
    // The dump's own failure says more than the broken pipe it caused downstream.
    if (dumped.status === 'rejected') throw dumped.reason;
    if (uploaded.status === 'rejected') throw uploaded.reason;
    const facts: SnapshotFacts = dumped.value;
    progress.done('dump');
    refuseSuspicious(facts, sealed.plainBytes(), previous, request);

    const readBack = await digestOf(await pending!.read(), (bytes) => progress.update('read-back', bytes, measured.bytes()));
    progress.done('read-back');
    if (readBack.sha256 !== measured.sha256() || readBack.bytes !== measured.bytes()) {
      throw new BackupError('failed', `checksum mismatch reading back ${request.store.describe(file)}: wrote ${measured.bytes()} bytes (sha256 ${measured.sha256()}), read ${readBack.bytes} (sha256 ${readBack.sha256})`);
    }
    await pending!.publish();
    pending = undefined;
    const metadata: BackupMetadata = {
      format: 'rampart-backup/1',
      id,
      createdAt: started.toISOString(),
      label: request.label,
      file,
      dump: source.dump,
      source: source.source,
      rampartVersion: request.rampartVersion,
      gitSha: request.gitSha,
      migration: facts.migration,
      postgresVersion: facts.postgresVersion,
      compression: 'zstd',
      encryption: { format: 'age', recipients: [...request.recipients] },
      sizes: { dumpBytes: sealed.plainBytes(), encryptedBytes: measured.bytes() },
      sha256: measured.sha256(),
      durationMs: now().getTime() - started.getTime(),
      tables: facts.tables,
    };
    try {
      await request.store.writeText(metadataName(id), `${JSON.stringify(metadata, null, 2)}\n`);
    } catch (error) {
      await request.store.remove(file).catch(() => undefined);
      throw error;
    }
    return metadata;
  } finally {
    await pending?.discard();
  }
}

/**
 * The failures users report are backups that "succeeded" while empty: no output, no tables,
 * or no rows where the previous backup had many.
 */
function refuseSuspicious(facts: SnapshotFacts, dumpBytes: number, previous: BackupMetadata | undefined, request: BackupRequest): void {
  if (dumpBytes === 0) throw new BackupError('failed', 'the dump is empty (0 bytes): refusing to call it a backup');
  const tables = Object.keys(facts.tables).length;
  if (tables === 0) throw new BackupError('failed', 'the database has no tables: refusing to call it a backup (wrong DATABASE_URL?)');
  if (!previous) return;
  const rows = totalRows(facts.tables);
  const before = totalRows(previous.tables);
  const shrank = (rows === 0 && before > 0) || (before >= 1_000 && rows < before / 10);
  if (!shrank) return;
  const message = `the database holds ${rows} rows in ${tables} tables; the previous backup ${previous.id} held ${before} rows in ${Object.keys(previous.tables).length} tables`;
  if (request.acceptShrink) {
    request.warn?.(`${message} (taken anyway: --accept-shrink)`);
    return;
  }
  throw new BackupError('refused', `${message}: refusing to replace it with a suspiciously empty backup (pass --accept-shrink if the data was deleted on purpose)`);
}
