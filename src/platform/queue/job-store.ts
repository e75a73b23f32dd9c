import { sql, type Kysely } from 'kysely';
import type { Tables } from '../db/tables.js';

/** A job a worker has claimed: it holds the lease until it completes, fails or releases it. */
export interface ClaimedJob {
  id: string;
  type: string;
  payload: unknown;
  attempts: number;
  max_attempts: number;
  correlation_id: string | null;
  trace_parent: string | null;
  created_at: Date;
}

/** The queue's SQL, one function per state change. Every change by a worker is fenced by `locked_by`. */
export function jobStore(db: Kysely<Tables>) {
  return {
    /** Claims up to `limit` ready jobs of `types`, highest priority first, skipping rows other workers hold. */
    async claim(workerId: string, types: readonly string[], limit: number, leaseMs: number): Promise<ClaimedJob[]> {
      if (types.length === 0 || limit <= 0) return [];
      const result = await sql<ClaimedJob>`
        update jobs set state = 'active', attempts = attempts + 1, locked_by = ${workerId},
               locked_until = now() + make_interval(secs => ${leaseMs / 1000}), started_at = now()
        where id in (
          select id from jobs
          where state = 'queued' and run_at <= now() and type = any(${sql.val([...types])}::text[])
          order by priority desc, run_at, id
          limit ${limit}
          for update skip locked
        )
        returning id, type, payload, attempts, max_attempts, correlation_id, trace_parent, created_at`.execute(db);
      return result.rows;
    },

    /** Done, for a batch of jobs. Returns the ids still held; a missing one lost its lease meanwhile (another worker took it back). */
    async complete(workerId: string, ids: readonly string[]): Promise<Set<string>> {
      if (ids.length === 0) return new Set();
      const result = await sql<{ id: string }>`
        update jobs set state = 'completed', finished_at = now(), locked_by = null, locked_until = null, last_error = null
        where id = any(${sql.val([...ids])}::uuid[]) and state = 'active' and locked_by = ${workerId}
        returning id`.execute(db);
      return new Set(result.rows.map((row) => row.id));
    },

    /** A failed attempt: back to the queue after `retryInMs`, or to the dead-letter queue when attempts are used up. */
    async fail(workerId: string, id: string, error: string, retryInMs: number, maxAttempts: number): Promise<'retry' | 'dead' | 'lost'> {
      // The running worker's definition decides the attempts (it may be newer than the enqueuer's).
      const result = await sql<{ state: 'queued' | 'dead' }>`
        update jobs set
          max_attempts = ${maxAttempts},
          state = case when attempts >= ${maxAttempts} then 'dead' else 'queued' end,
          run_at = case when attempts >= ${maxAttempts} then run_at else now() + make_interval(secs => ${retryInMs / 1000}) end,
          finished_at = case when attempts >= ${maxAttempts} then now() else null end,
          last_error = ${error.slice(0, 2_000)}, locked_by = null, locked_until = null
        where id = ${id} and state = 'active' and locked_by = ${workerId}
        returning state`.execute(db);
      const row = result.rows[0];
      return row ? (row.state === 'dead' ? 'dead' : 'retry') : 'lost';
    },

    /** Hands unfinished jobs back (shutdown past its grace): the interrupted attempt does not count. */
    async release(workerId: string, ids: readonly string[]): Promise<void> {
      if (ids.length === 0) return;
      await sql`
        update jobs set state = 'queued', attempts = greatest(attempts - 1, 0), locked_by = null, locked_until = null, run_at = now()
        where id = any(${sql.val([...ids])}::uuid[]) and state = 'active' and locked_by = ${workerId}`.execute(db);
    },

    /** Keeps this worker's running jobs: a live worker renews, a dead one (kill -9) stops and loses them. */
    async renew(workerId: string, ids: readonly string[], leaseMs: number): Promise<void> {
      if (ids.length === 0) return;
      await sql`
        update jobs set locked_until = now() + make_interval(secs => ${leaseMs / 1000})
        where id = any(${sql.val([...ids])}::uuid[]) and state = 'active' and locked_by = ${workerId}`.execute(db);
    },

    /**
     * Takes back jobs whose lease ran out (their worker died or hung): each counts as a failed
     * attempt, retried at once or dead-lettered. Returns how many went each way.
     */
    async reclaimExpired(): Promise<Array<{ id: string; type: string; state: 'queued' | 'dead'; correlation_id: string | null }>> {
      const result = await sql<{ id: string; type: string; state: 'queued' | 'dead'; correlation_id: string | null }>`
        update jobs set
          state = case when attempts >= max_attempts then 'dead' else 'queued' end,
          finished_at = case when attempts >= max_attempts then now() else null end,
          run_at = now(), last_error = 'lease expired: the worker running it stopped renewing (crashed or hung)',
          locked_by = null, locked_until = null
        where id in (select id from jobs where state = 'active' and locked_until < now() for update skip locked)
        returning id, type, state, correlation_id`.execute(db);
      return result.rows;
    },

    /** Deletes completed jobs finished more than `olderThanS` ago; idempotency keys of those rows become free again. */
    async sweepCompleted(olderThanS: number, limit = 1_000): Promise<number> {
      const result = await sql`
        delete from jobs where id in (
          select id from jobs where state = 'completed' and finished_at < now() - make_interval(secs => ${olderThanS}) limit ${limit}
        )`.execute(db);
      return Number(result.numAffectedRows ?? 0n);
    },

    /** Depth and oldest ready age per type and state, for metrics and `rampart jobs list`. */
    async stats(): Promise<Array<{ type: string; state: string; count: number; oldest_s: number | null }>> {
      const result = await sql<{ type: string; state: string; count: string; oldest_s: string | null }>`
        select type, state, count(*) as count,
               extract(epoch from now() - min(run_at) filter (where state = 'queued' and run_at <= now())) as oldest_s
        from jobs where state <> 'completed' group by type, state`.execute(db);
      return result.rows.map((row) => ({ type: row.type, state: row.state, count: Number(row.count), oldest_s: row.oldest_s === null ? null : Number(row.oldest_s) }));
    },
  };
}

export type JobStore = ReturnType<typeof jobStore>;
