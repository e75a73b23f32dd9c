import { Migrator, sql, type MigrationResultSet } from 'kysely';
import type { DatabaseHandle } from './database.js';
import { describeDatabaseFailure } from './failure-reason.js';
import { migrationNames, SqlFileMigrationProvider } from './sql-file-migrations.js';
import { migrationsDir } from './template-paths.js';

export interface MigrationRun {
  applied: string[];
  reverted: string[];
}

export interface MigrationState {
  name: string;
  applied: boolean;
  appliedAt?: Date;
}

export interface MigrationOptions {
  /** Folder of `NNNN_name.{up,down}.sql` files; defaults to {@link migrationsDir}. */
  dir?: string;
}

/**
 * Applies every pending migration. Kysely runs the whole batch in one transaction under its
 * lock, so when one migration fails none of this run's migrations stay applied.
 */
export async function migrateUp(handle: DatabaseHandle, options: MigrationOptions = {}): Promise<MigrationRun> {
  // Every development start lands here, nearly always with nothing to do; Kysely's own check
  // (table introspection under its lock) costs ~0.4 s on a freshly opened PGlite, one SELECT a
  // few ms. Anything else (pending, unknown or missing migrations) goes through Kysely.
  if (await isUpToDate(handle, options.dir ?? migrationsDir())) return { applied: [], reverted: [] };
  return summarise(await migrator(handle, options).migrateToLatest());
}

/** True when the applied migrations are exactly the folder's, as Kysely's default table records them. */
async function isUpToDate(handle: DatabaseHandle, dir: string): Promise<boolean> {
  const shipped = await migrationNames(dir);
  let applied: string[];
  try {
    applied = (await sql<{ name: string }>`select name from kysely_migration`.execute(handle.db)).rows.map((row) => row.name).sort();
  } catch {
    return false; // no table yet: a new database
  }
  return applied.length === shipped.length && applied.every((name, i) => name === shipped[i]);
}

/** Applies or reverts migrations until `name` is the last one applied. */
export async function migrateTo(handle: DatabaseHandle, name: string, options: MigrationOptions = {}): Promise<MigrationRun> {
  return summarise(await migrator(handle, options).migrateTo(name));
}

/** Reverts the most recently applied migration (none applied: reverts nothing). */
export async function migrateDown(handle: DatabaseHandle, options: MigrationOptions = {}): Promise<MigrationRun> {
  return summarise(await migrator(handle, options).migrateDown());
}

export async function migrationStatus(handle: DatabaseHandle, options: MigrationOptions = {}): Promise<MigrationState[]> {
  const migrations = await migrator(handle, options).getMigrations();
  return migrations.map(({ name, executedAt }) =>
    executedAt ? { name, applied: true, appliedAt: executedAt } : { name, applied: false },
  );
}

function migrator(handle: DatabaseHandle, { dir = migrationsDir() }: MigrationOptions): Migrator {
  return new Migrator({ db: handle.db, provider: new SqlFileMigrationProvider(dir) });
}

function summarise({ error, results = [] }: MigrationResultSet): MigrationRun {
  if (error !== undefined) {
    const failed = results.find((result) => result.status === 'Error');
    const what = failed ? `migration ${failed.migrationName} (${failed.direction.toLowerCase()})` : 'migrations';
    throw new Error(`${what} failed: ${describeDatabaseFailure(error)}`, { cause: error });
  }
  const done = (direction: 'Up' | 'Down') =>
    results.filter((r) => r.status === 'Success' && r.direction === direction).map((r) => r.migrationName);
  return { applied: done('Up'), reverted: done('Down') };
}
