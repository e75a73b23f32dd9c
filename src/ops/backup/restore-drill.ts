import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { BackupError } from './backup-error.js';
import { findBackup } from './backup-catalog.js';
import { reportName, type BackupMetadata } from './backup-metadata.js';
import type { BackupStore } from './backup-store.js';
import { scratchEmbedded } from './embedded-database.js';
import { loadDump, loadedStats, type LoadTarget } from './load-dump.js';
import { connect, type PostgresConnection } from './postgres-connection.js';
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
  /** Scratch databases an earlier drill left behind (it was killed mid-way) and this one dropped. */
  leftoversDropped: string[];
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

  const scratch = request.server ? await scratchPostgres(request.server, metadata.id, started) : await scratchEmbeddedTarget();
  let report: DrillReport;
  try {
    const plain = await unseal(await request.store.read(metadata.file), identity, described);
    await loadDump(scratch.target, metadata.dump, plain);
    progress.done('restore');
    const loaded = await loadedStats(scratch.target, metadata.tables);
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
      leftoversDropped: scratch.leftoversDropped,
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
  /** Scratch databases of killed drills dropped on the way (PostgreSQL only). */
  leftoversDropped: string[];
  dispose(): Promise<void>;
}

const SCRATCH_PREFIX = 'rampart_drill_';
// A scratch database's comment says when it was made; a drill of a 10 GB database takes minutes.
const SCRATCH_NOTE = 'rampart restore drill scratch database, created ';
const LEFTOVER_AFTER_MS = 24 * 60 * 60 * 1000;

/**
 * Drops the scratch databases of drills that were killed before they could drop their own
 * (made over a day ago, by their comment). Drills of other processes, even other machines
 * sharing the server, are running now, not a day ago: theirs are left alone, and so is any
 * database without our comment.
 */
async function dropDrillLeftovers(admin: pg.Client, now: Date): Promise<string[]> {
  const { rows } = await admin.query<{ datname: string; note: string | null }>(
    "select datname, shobj_description(oid, 'pg_database') as note from pg_database where datname like $1",
    [`${SCRATCH_PREFIX.replaceAll('_', '\\_')}%`],
  );
  const dropped: string[] = [];
  for (const { datname, note } of rows) {
    const created = note?.startsWith(SCRATCH_NOTE) ? Date.parse(note.slice(SCRATCH_NOTE.length)) : Number.NaN;
    if (!(now.getTime() - created > LEFTOVER_AFTER_MS) || !/^[a-z0-9_]+$/.test(datname)) continue;
    await admin.query(`drop database if exists ${datname} with (force)`);
    dropped.push(datname);
  }
  return dropped;
}

/** A temporary database on the same server, dropped afterwards (even when the drill fails). */
async function scratchPostgres(server: PostgresConnection, id: string, now: Date): Promise<Scratch> {
  // The whole backup id (its date alone is shared by a day of backups), lower-cased for an unquoted name.
  const name = `${SCRATCH_PREFIX}${id.toLowerCase().replace(/[^a-z0-9]/g, '')}_${randomBytes(3).toString('hex')}`;
  // One connection sweeps and creates.
  const admin = await connect(server);
  let leftoversDropped: string[];
  try {
    leftoversDropped = await dropDrillLeftovers(admin, now);
    try {
      await admin.query(`create database ${name}`);
      await admin.query(`comment on database ${name} is '${SCRATCH_NOTE}${now.toISOString()}'`);
    } catch (error) {
      await admin.query(`drop database if exists ${name}`).catch(() => undefined);
      throw new BackupError('failed', `cannot create the scratch database ${name} for the drill (the role needs CREATEDB): ${(error as Error).message}`);
    }
  } finally {
    await admin.end().catch(() => undefined);
  }
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  return {
    target: { kind: 'postgres', connection: { url: url.toString(), password: server.password } },
    leftoversDropped,
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
  return { target: { kind: 'pglite', pglite: scratch.pglite }, leftoversDropped: [], dispose: scratch.dispose };
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
    ...(report.leftoversDropped.length > 0 ? [`- dropped scratch databases that killed drills left over a day ago: ${report.leftoversDropped.map((n) => `\`${n}\``).join(', ')}`] : []),
    '',
    '| table | rows at backup | rows restored | content |',
    '|---|---:|---:|---|',
    ...rows,
    ...extra,
    '',
  ].join('\n');
}
