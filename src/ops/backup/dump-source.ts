import type { Readable } from 'node:stream';
import type { RunSql, TableStat } from './table-stats.js';

/** A running dump: its plaintext stream and the facts taken in the same snapshot. */
export interface DumpSource {
  source: 'postgres' | 'pglite';
  dump: 'custom' | 'sql';
  /** The plaintext dump. It may end normally even when the dump failed: await `done`. */
  stream: Readable;
  /** Resolves when the dump finished cleanly, with the facts of its snapshot; rejects with the reason otherwise. */
  done: Promise<SnapshotFacts>;
}

export interface SnapshotFacts {
  postgresVersion: string;
  migration: string | null;
  tables: Record<string, TableStat>;
}

/** The last applied migration, as Kysely's table records it (null without the table). */
export async function lastMigration(run: RunSql): Promise<string | null> {
  // Asked first: a statement naming a missing table fails even in a branch never taken.
  const [table] = await run<{ present: boolean }>("select to_regclass('public.kysely_migration') is not null as present");
  if (table?.present !== true) return null;
  const [row] = await run<{ name: string | null }>('select max(name) as name from public.kysely_migration');
  return row?.name ?? null;
}
