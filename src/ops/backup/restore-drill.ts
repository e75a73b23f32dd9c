import { randomBytes } from 'node:crypto';
import { BackupError } from './backup-error.js';
import { findBackup } from './backup-catalog.js';
import { reportName, type BackupMetadata } from './backup-metadata.js';
import type { BackupStore } from './backup-store.js';
import { scratchEmbedded } from './embedded-database.js';
import { connect, loadDump, loadedStats, type LoadTarget } from './load-dump.js';
import type { PostgresConnection } from './postgres-dump.js';
import { silentProgress, type Progress } from './progress.js';
import { digestOf, unseal } from './sealed-stream.js';
import { compareStats, type StatDifference } from './table-stats.js';

export interface DrillReport {
  id: string;
  ok: boolean;
  at: string;
  /** Where the backup was loaded: a scratch database on the server, or a scratch embedded one. */
  scratch: 'postgres' | 'pglite';
  checksum: { expected: string; actual: string; ok: boolean };
  tables: { compared: number; differences: StatDifference[] };
  migrations: { expected: string | null; restored: string | null; ok: boolean };
  durationMs: number;
}

export interface DrillRequest {
  store: BackupStore;
  which: string;
  identity: () => Promise<string>;
  /** The server to create the scratch database on (PostgreSQL), or undefined for a scratch embedded database. */
  server: PostgresConnection | undefined;
  progress?: Progress;
  now?: () => Date;
}

/**
 * The restore drill: checks the file's SHA-256, restores it into a scratch database,
 * compares every table's count and checksum and the migration version with the metadata,
 * writes the report beside the backup, and drops the scratch database. Throws
 * BackupError('mismatch') after writing a failing report.
 */
export async function verifyBackup(request: DrillRequest): Promise<DrillReport> {
  const now = request.now ?? (() => new Date());
  const progress = request.progress ?? silentProgress;
  const started = now();
  const { metadata } = await findBackup(request.store, request.which);
  const described = request.store.describe(metadata.file);
  await verifyChecksum(request.store, metadata, progress);
  const identity = await request.identity();

  const scratch = request.server ? await scratchPostgres(request.server, metadata.id) : await scratchEmbeddedTarget();
  let report: DrillReport;
  try {
    const plain = await unseal(await request.store.read(metadata.file), identity, described);
    await loadDump(scratch.target, metadata.dump, plain);
    progress.done('restore');
    const loaded = await loadedStats(scratch.target);
    const differences = compareStats(metadata.tables, loaded.tables);
    report = {
      id: metadata.id,
      ok: differences.length === 0 && loaded.migration === metadata.migration,
      at: now().toISOString(),
      scratch: scratch.target.kind,
      checksum: { expected: metadata.sha256, actual: metadata.sha256, ok: true },
      tables: { compared: Object.keys(metadata.tables).length, differences },
      migrations: { expected: metadata.migration, restored: loaded.migration, ok: loaded.migration === metadata.migration },
      durationMs: now().getTime() - started.getTime(),
    };
  } finally {
    await scratch.dispose();
  }
  await request.store.writeText(reportName(metadata.id, 'json'), `${JSON.stringify(report, null, 2)}\n`);
  await request.store.writeText(reportName(metadata.id, 'md'), drillMarkdown(report, metadata));
  if (!report.ok) {
    const what = [
      ...report.tables.differences.map((d) => `${d.table}: expected ${d.expected ? `${d.expected.rows} rows` : 'no table'}, restored ${d.actual ? `${d.actual.rows} rows` : 'no table'}${d.expected && d.actual && d.expected.rows === d.actual.rows ? ' (contents differ)' : ''}`),
      ...(report.migrations.ok ? [] : [`migration: expected ${report.migrations.expected}, restored ${report.migrations.restored}`]),
    ];
    throw new BackupError('mismatch', `restore drill of ${metadata.id} found differences:\n  ${what.join('\n  ')}`);
  }
  return report;
}

/** Reads the whole file and compares its SHA-256 and size with the metadata's. */
export async function verifyChecksum(store: BackupStore, metadata: BackupMetadata, progress: Progress = silentProgress): Promise<void> {
  const actual = await digestOf(await store.read(metadata.file), (bytes) => progress.update('checksum', bytes, metadata.sizes.encryptedBytes));
  progress.done('checksum');
  if (actual.sha256 !== metadata.sha256 || actual.bytes !== metadata.sizes.encryptedBytes) {
    throw new BackupError('failed', `checksum mismatch: ${store.describe(metadata.file)} has sha256 ${actual.sha256} (${actual.bytes} bytes) but its metadata records ${metadata.sha256} (${metadata.sizes.encryptedBytes} bytes): the file is damaged or truncated`);
  }
}

interface Scratch {
  target: LoadTarget;
  dispose(): Promise<void>;
}

/** A temporary database on the same server, dropped afterwards (even when the drill fails). */
async function scratchPostgres(server: PostgresConnection, id: string): Promise<Scratch> {
  const name = `rampart_drill_${id.slice(0, 8)}_${randomBytes(3).toString('hex')}`;
  const admin = await connect(server);
  try {
    await admin.query(`create database ${name}`);
  } catch (error) {
    throw new BackupError('failed', `cannot create the scratch database ${name} for the drill (the role needs CREATEDB): ${(error as Error).message}`);
  } finally {
    await admin.end().catch(() => undefined);
  }
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  return {
    target: { kind: 'postgres', connection: { url: url.toString(), password: server.password } },
    async dispose() {
      const dropper = await connect(server);
      try {
        await dropper.query(`drop database if exists ${name} with (force)`);
      } finally {
        await dropper.end().catch(() => undefined);
      }
    },
  };
}

async function scratchEmbeddedTarget(): Promise<Scratch> {
  const scratch = await scratchEmbedded();
  return { target: { kind: 'pglite', pglite: scratch.pglite }, dispose: scratch.dispose };
}

function drillMarkdown(report: DrillReport, metadata: BackupMetadata): string {
  const rows = Object.entries(metadata.tables).map(([table, stat]) => {
    const difference = report.tables.differences.find((d) => d.table === table);
    return `| ${table} | ${stat.rows} | ${difference ? (difference.actual?.rows ?? 'missing') : stat.rows} | ${difference ? 'DIFFERENT' : 'same'} |`;
  });
  const extra = report.tables.differences.filter((d) => !d.expected).map((d) => `| ${d.table} | — | ${d.actual?.rows ?? 0} | UNEXPECTED |`);
  return [
    `# Restore drill of backup ${metadata.id}: ${report.ok ? 'passed' : 'FAILED'}`,
    '',
    `- drilled at ${report.at} into a scratch ${report.scratch === 'postgres' ? 'PostgreSQL database' : 'embedded database'}, in ${(report.durationMs / 1000).toFixed(1)} s`,
    `- backup taken ${metadata.createdAt} (${metadata.label}), ${metadata.sizes.encryptedBytes} bytes, sha256 \`${metadata.sha256}\`: checksum ${report.checksum.ok ? 'matches' : 'DIFFERS'}`,
    `- migration: expected \`${report.migrations.expected ?? 'none'}\`, restored \`${report.migrations.restored ?? 'none'}\`${report.migrations.ok ? '' : ' — DIFFERENT'}`,
    '',
    '| table | rows at backup | rows restored | content |',
    '|---|---:|---:|---|',
    ...rows,
    ...extra,
    '',
  ].join('\n');
}
