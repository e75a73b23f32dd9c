import type { Generated } from 'kysely';

/**
 * The schema the migrations in `migrations/` produce, table by table.
 * `test/db/tables.test.ts` compares it with the migrated database, so a migration that
 * changes a table must change this file too.
 */
export interface Tables {
  worker_heartbeats: WorkerHeartbeatsTable;
}

/** One row per live worker process; a worker whose `last_seen_at` stops moving is gone. */
export interface WorkerHeartbeatsTable {
  worker_id: string;
  hostname: string;
  pid: number;
  started_at: Generated<Date>;
  last_seen_at: Generated<Date>;
}
