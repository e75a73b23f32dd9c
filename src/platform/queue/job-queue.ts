import { sql } from 'kysely';
import type { EnqueueOptions, EnqueuedJob, JobDefinition, JobExecutor, JobQueue } from './job-types.js';

/** The NOTIFY channel that wakes workers when a job is written (delivered at commit). */
export const JOBS_CHANNEL = 'rampart_jobs';

export const DEFAULT_MAX_ATTEMPTS = 5;

export interface JobQueueOptions {
  /** Policies of the job types this process knows; an unknown type gets the defaults. */
  definitions?: readonly JobDefinition[];
  /** The active trace as a W3C traceparent (tracing on): stored with the job, so its span continues the trace. */
  traceparent?: () => string | undefined;
}

/** Writes jobs into the `jobs` table; web and worker processes both enqueue through this. */
export function createJobQueue(options: JobQueueOptions = {}): JobQueue {
  const policies = new Map((options.definitions ?? []).map((definition) => [definition.type, definition]));
  const wake = coalescedWakeUp();
  return {
    async enqueue(executor: JobExecutor, type: string, payload: unknown, enqueue: EnqueueOptions = {}): Promise<EnqueuedJob> {
      if (!/^[a-z][a-z0-9_.:-]{0,99}$/i.test(type)) throw new TypeError(`job type "${type}" is not a valid name`);
      const policy = policies.get(type);
      const maxAttempts = policy?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
      const priority = enqueue.priority ?? policy?.priority ?? 0;
      const runAt = enqueue.runAt ?? null;
      // Inside the caller's transaction the wake-up goes with it: NOTIFY is delivered at commit,
      // never before the job is visible. On its own, the insert commits by itself and the
      // wake-up follows out of band: a transaction that sends NOTIFY holds a database-wide lock
      // through its commit flush, which would line every enqueue up behind every other.
      const inTransaction = executor.isTransaction;
      const inserted = await sql<{ id: string }>`
        with inserted as (
          insert into jobs (type, payload, priority, max_attempts, run_at, idempotency_key, correlation_id, trace_parent)
          values (${type}, ${JSON.stringify(payload ?? null)}::jsonb, ${priority}, ${maxAttempts}, coalesce(${runAt}::timestamptz, now()),
                  ${enqueue.idempotencyKey ?? null}, ${enqueue.correlationId ?? null}, ${options.traceparent?.() ?? null})
          on conflict (type, idempotency_key) where idempotency_key is not null do nothing
          returning id
        )
        select id${inTransaction ? sql`, pg_notify(${JOBS_CHANNEL}, ${type})` : sql``} from inserted`.execute(executor);
      const created = inserted.rows[0];
      if (created) {
        if (!inTransaction) wake(executor, type);
        return { id: created.id, created: true };
      }
      const existing = await sql<{ id: string }>`select id from jobs where type = ${type} and idempotency_key = ${enqueue.idempotencyKey ?? null}`.execute(executor);
      const first = existing.rows[0];
      if (!first) throw new Error(`job ${type} with idempotency key was neither inserted nor found`);
      return { id: first.id, created: false };
    },
  };
}

/**
 * Sends NOTIFY for committed jobs, one at a time: while one is in flight, further types are
 * collected and go in the next. A burst of enqueues costs a few notifications, not one each.
 * A lost notification only delays a job until the workers' next poll.
 */
function coalescedWakeUp(): (executor: JobExecutor, type: string) => void {
  let waiting: Set<string> | undefined;
  let sending = false;
  const send = (executor: JobExecutor, types: Set<string>): void => {
    sending = true;
    // One type wakes the workers that run it; several wake every worker (empty payload).
    const payload = types.size === 1 ? [...types][0]! : '';
    sql`select pg_notify(${JOBS_CHANNEL}, ${payload})`
      .execute(executor)
      .catch(() => undefined)
      .finally(() => {
        sending = false;
        const next = waiting;
        waiting = undefined;
        if (next) send(executor, next);
      });
  };
  return (executor, type) => {
    if (sending) (waiting ??= new Set()).add(type);
    else send(executor, new Set([type]));
  };
}
