import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { openDatabase } from '../../src/platform/db/database.js';
import { testDatabaseOptions, type DatabaseTarget } from './databases.js';
import { runCli } from './rampart-process.js';

/** A password the shared cluster ignores (trust auth) but which must never appear in any output. */
export const URL_PASSWORD = 'url-password-never-printed-7f3a';

/** Env for CLI runs against a test database target (its data dir; the URL with a password in it). */
export function backupEnv(target: DatabaseTarget, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  let url: string | undefined;
  if (target.url) {
    const withPassword = new URL(target.url);
    withPassword.password = URL_PASSWORD;
    url = withPassword.toString();
  }
  return { RAMPART_DATA_DIR: target.dataDir, DATABASE_URL: url, LOG_LEVEL: 'warn', ...extra };
}

export const cli = (target: DatabaseTarget, args: string[], extra: Record<string, string | undefined> = {}) => runCli(args, backupEnv(target, extra));

/** Applies the migrations and writes `rows` rows of varied types into a `ledger` table. */
export async function seedLedger(target: DatabaseTarget, rows: number): Promise<void> {
  const migrated = await cli(target, ['migrate', 'up']);
  if (migrated.code !== 0) throw new Error(`migrate failed: ${migrated.stderr}`);
  const handle = await openDatabase(testDatabaseOptions(target));
  try {
    await sql`create table if not exists ledger (id integer primary key, note text, amount numeric(12,2), booked_at timestamptz, tags text[], payload jsonb)`.execute(handle.db);
    await sql`insert into ledger select g, 'entry ' || g || ' — café', g * 1.25, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute', array['a', 'b' || g], jsonb_build_object('n', g) from generate_series(1, ${rows}) as g`.execute(handle.db);
  } finally {
    await handle.close();
  }
}

/** Runs statements on the target (the CLI must not be running: PGlite allows one process). */
export async function onDatabase<T>(target: DatabaseTarget, work: (run: (text: string) => Promise<Array<Record<string, unknown>>>) => Promise<T>): Promise<T> {
  const handle = await openDatabase(testDatabaseOptions(target));
  try {
    return await work(async (text) => (await sql.raw(text).execute(handle.db)).rows as Array<Record<string, unknown>>);
  } finally {
    await handle.close();
  }
}

export const backupsDir = (target: DatabaseTarget): string => join(target.dataDir, 'backups');

export function backupFiles(target: DatabaseTarget): string[] {
  try {
    return readdirSync(backupsDir(target)).sort();
  } catch {
    return [];
  }
}

export function onlyBackupId(target: DatabaseTarget): string {
  const ids = backupFiles(target).filter((f) => /^\d{8}T\d{6}Z-[0-9a-f]{6}\.json$/.test(f));
  if (ids.length !== 1) throw new Error(`expected one backup, found ${ids.join(', ')}`);
  return ids[0]!.slice(0, -5);
}

export const metadataOf = (target: DatabaseTarget, id: string): Record<string, unknown> & { file: string; tables: Record<string, { rows: number; checksum: string }> } =>
  JSON.parse(readFileSync(join(backupsDir(target), `${id}.json`), 'utf8'));
