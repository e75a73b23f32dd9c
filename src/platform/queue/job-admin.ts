import { sql, type Kysely } from 'kysely';
import type { JobState, Tables } from '../db/tables.js';
import { JOBS_CHANNEL } from './job-queue.js';

export interface JobRow {
  id: string;
  type: string;
  state: JobState;
  attempts: number;
  max_attempts: number;
  priority: number;
  run_at: Date;
  created_at: Date;
  finished_at: Date | null;
  last_error: string | null;
  correlation_id: string | null;
}

/** Operator actions on the queue (`rampart jobs …`). Payloads are never listed: they may hold personal data. */
export function jobAdmin(db: Kysely<Tables>) {
  return {
    async list(filter: { state: JobState; type?: string; limit: number }): Promise<JobRow[]> {
      let query = db
        .selectFrom('jobs')
        .select(['id', 'type', 'state', 'attempts', 'max_attempts', 'priority', 'run_at', 'created_at', 'finished_at', 'last_error', 'correlation_id'])
        .where('state', '=', filter.state);
      if (filter.type) query = query.where('type', '=', filter.type);
      return query.orderBy('created_at', 'desc').limit(filter.limit).execute();
    },

    async counts(): Promise<Array<{ type: string; state: JobState; count: number }>> {
      const rows = await db.selectFrom('jobs').select(['type', 'state', sql<string>`count(*)`.as('count')]).groupBy(['type', 'state']).orderBy('type').orderBy('state').execute();
      return rows.map((row) => ({ type: row.type, state: row.state, count: Number(row.count) }));
    },

    /** Dead jobs back to the queue with their attempts reset. Returns the ids that moved (others were not dead). */
    async retry(selection: { ids: readonly string[] } | { all: true; type?: string }): Promise<string[]> {
      let query = db
        .updateTable('jobs')
        .set({ state: 'queued', attempts: 0, run_at: sql<Date>`now()`, finished_at: null, locked_by: null, locked_until: null })
        .where('state', '=', 'dead');
      if ('ids' in selection) query = query.where('id', 'in', [...selection.ids]);
      else if (selection.type) query = query.where('type', '=', selection.type);
      const rows = await query.returning('id').execute();
      // An empty payload wakes every worker, whatever types it runs.
      if (rows.length > 0) await sql`select pg_notify(${JOBS_CHANNEL}, '')`.execute(db);
      return rows.map((row) => row.id);
    },

    async purgeDead(filter: { type?: string; olderThanDays: number }): Promise<number> {
      let query = db.deleteFrom('jobs').where('state', '=', 'dead').where('finished_at', '<=', sql<Date>`now() - make_interval(days => ${filter.olderThanDays})`);
      if (filter.type) query = query.where('type', '=', filter.type);
      const result = await query.executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
