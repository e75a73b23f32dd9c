import { performance } from 'node:perf_hooks';
import type { Kysely } from 'kysely';
import { Histogram } from 'prom-client';
import type { Tables } from '../db/tables.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/registry.js';
import { retryDelayMs } from './backoff.js';
import { parseSchedule } from './cron-ticks.js';
import { JOBS_CHANNEL } from './job-queue.js';
import { jobStore, type ClaimedJob } from './job-store.js';
import type { JobDefinition, JobQueue } from './job-types.js';

export interface JobWorkerOptions {
  db: Kysely<Tables>;
  queue: JobQueue;
  definitions: readonly JobDefinition[];
  workerId: string;
  logger: Logger;
  metrics?: Metrics;
  /** Wakes the worker when a job is written (NOTIFY); without it, it polls only. */
  listen?: (channel: string, onNotify: (payload: string) => void) => Promise<() => Promise<void>>;
  /** Jobs run at once by this process. */
  concurrency: number;
  /** How often to look for ready jobs when no notification came (delayed jobs, retries, lost NOTIFYs). */
  pollIntervalMs: number;
  /** A running job's lease; renewed every third of it, so a killed worker's jobs come back after at most this long. */
  leaseMs: number;
  /** Completed jobs are deleted this long after they finished. */
  retentionS: number;
  /** Runs a job's whole attempt inside a span continuing the trace that enqueued it (tracing on). */
  inJobSpan?: <T>(job: { type: string; id: string; attempt: number; traceparent: string | null }, work: () => Promise<T>) => Promise<T>;
  /**
   * Told of each job moved to the dead-letter queue: with the error of its last attempt (called
   * inside that attempt's span), or without one when its worker died holding it (lease expired).
   */
  onDead?: (job: DeadJob, error: unknown) => void;
}

export interface DeadJob {
  type: string;
  id: string;
  /** The attempt that failed (undefined when found with its lease expired). */
  attempt?: number;
  correlationId?: string;
}

export interface JobWorker {
  readonly types: readonly string[];
  /** Stops claiming, waits up to `graceMs` for running jobs, then hands the rest back to the queue. True when none were cut off. */
  stop(graceMs: number): Promise<boolean>;
}

const DEFAULTS = { maxAttempts: 5, timeoutMs: 60_000, backoffMs: 1_000, maxBackoffMs: 5 * 60_000 };
const CRON_CHECK_MS = 1_000;
const SWEEP_EVERY_MS = 10 * 60_000;

/** Runs the handlers of `definitions` for jobs in the queue, with retries, timeouts, leases and cron. */
export async function startJobWorker(options: JobWorkerOptions): Promise<JobWorker> {
  const { db, logger, workerId } = options;
  const store = jobStore(db);
  const definitions = new Map(options.definitions.map((definition) => [definition.type, definition]));
  const types = [...definitions.keys()];
  const schedules = options.definitions
    .filter((definition) => definition.schedule !== undefined)
    .map((definition) => ({ type: definition.type, tickAt: parseSchedule(definition.schedule!), lastTick: 0 }));
  const observe = options.metrics ? jobMetrics(options.metrics, store) : undefined;

  const running = new Map<string, AbortController>();
  let stopping = false;
  let claiming = false;
  let claimAgain = false;
  let idle: (() => void) | undefined;
  // Whether more jobs may be waiting: the last claim filled every free slot, or a wake-up
  // came since. A finishing job claims the next only then, so a quiet queue is not asked
  // after every job.
  let backlog = true;
  let fillScheduled = false;
  // Jobs finishing in the same turn of the event loop are claimed for together.
  const requestFill = (): void => {
    if (fillScheduled || stopping) return;
    fillScheduled = true;
    setImmediate(() => {
      fillScheduled = false;
      void fill();
    });
  };
  const complete = batched((ids: readonly string[]) => store.complete(workerId, ids));

  const fill = async (): Promise<void> => {
    if (stopping) return;
    if (claiming) {
      claimAgain = true;
      return;
    }
    claiming = true;
    try {
      do {
        claimAgain = false;
        const free = options.concurrency - running.size;
        if (free <= 0) break;
        const jobs = await store.claim(workerId, types, free, options.leaseMs);
        for (const job of jobs) run(job);
        // A full batch means more may be waiting.
        backlog = jobs.length === free;
        if (backlog) claimAgain = true;
      } while (claimAgain && !stopping);
    } catch (err) {
      logger.warn({ err }, 'could not claim jobs; will retry');
    } finally {
      claiming = false;
    }
  };

  const run = (job: ClaimedJob): void => {
    const definition = definitions.get(job.type)!;
    const controller = new AbortController();
    running.set(job.id, controller);
    const jobLogger = logger.child({ job_id: job.id, job_type: job.type, attempt: job.attempts, correlation_id: job.correlation_id ?? undefined });
    const timeoutMs = definition.timeoutMs ?? DEFAULTS.timeoutMs;
    const timer = setTimeout(() => controller.abort(new JobTimeoutError(timeoutMs)), timeoutMs);
    const started = performance.now();
    const context = { id: job.id, type: job.type, attempt: job.attempts, logger: jobLogger, signal: controller.signal, correlationId: job.correlation_id ?? undefined };
    const finish = async (): Promise<void> => {
      try {
        await Promise.race([definition.run(job.payload, context), rejectOnAbort(controller.signal)]);
        // A handler that returns once aborted still ran out of time (or was cut off).
        if (controller.signal.aborted) throw controller.signal.reason;
      } catch (err) {
        clearTimeout(timer);
        const seconds = (performance.now() - started) / 1000;
        if (controller.signal.reason instanceof ShutdownError) {
          await store.release(workerId, [job.id]);
          jobLogger.warn('job interrupted by shutdown; handed back to the queue');
          return;
        }
        const delay = retryDelayMs(job.attempts, definition.backoffMs ?? DEFAULTS.backoffMs, definition.maxBackoffMs ?? DEFAULTS.maxBackoffMs);
        const outcome = await store.fail(workerId, job.id, describe(err), delay, definition.maxAttempts ?? DEFAULTS.maxAttempts);
        // A lost attempt was counted by the worker that took the job back; here only its run time.
        observe?.(job.type, outcome, seconds, outcome !== 'lost');
        if (outcome === 'retry') jobLogger.warn({ err, retry_in_ms: delay, duration_ms: Math.round(seconds * 1000) }, 'job failed; will retry');
        else if (outcome === 'dead') {
          jobLogger.error({ err, attempts: job.attempts }, 'job failed for the last time; moved to the dead-letter queue');
          options.onDead?.({ type: job.type, id: job.id, attempt: job.attempts, correlationId: job.correlation_id ?? undefined }, err);
        }
        else jobLogger.warn({ err }, 'job failed after its lease was lost; another worker has it');
        return;
      }
      clearTimeout(timer);
      const seconds = (performance.now() - started) / 1000;
      const kept = await complete(job.id);
      observe?.(job.type, kept ? 'completed' : 'lost', seconds, kept);
      if (kept) jobLogger.info({ duration_ms: Math.round(seconds * 1000), queued_ms: Date.now() - job.created_at.getTime() }, 'job completed');
      else jobLogger.warn('job finished after its lease was lost; another worker may run it again');
    };
    (options.inJobSpan ? options.inJobSpan({ type: job.type, id: job.id, attempt: job.attempts, traceparent: job.trace_parent }, finish) : finish())
      .catch((err: unknown) => jobLogger.error({ err }, 'could not record the outcome of a job; its lease will expire and it will run again'))
      .finally(() => {
        running.delete(job.id);
        if (running.size === 0) idle?.();
        if (backlog) requestFill();
      });
  };

  const enqueueDueTicks = async (): Promise<void> => {
    const now = new Date();
    for (const schedule of schedules) {
      const tick = schedule.tickAt(now);
      if (tick.getTime() === schedule.lastTick) continue;
      // Every worker tries; the idempotency key lets exactly one job per tick exist.
      const { created } = await options.queue.enqueue(db, schedule.type, { tick: tick.toISOString() }, { idempotencyKey: `cron:${tick.toISOString()}` });
      schedule.lastTick = tick.getTime();
      if (created) logger.debug({ job_type: schedule.type, tick }, 'scheduled job enqueued');
    }
  };

  const reclaim = async (): Promise<void> => {
    const reclaimed = await store.reclaimExpired();
    for (const { id, type, state, correlation_id } of reclaimed) {
      // The attempt is lost (its worker died or hung); the job runs again, or is dead-lettered
      // when that was its last attempt.
      observe?.(type, state === 'dead' ? 'dead' : 'lost', undefined, true);
      logger.warn({ job_type: type, now: state }, 'took back a job whose worker stopped renewing its lease');
      if (state === 'dead') options.onDead?.({ type, id, correlationId: correlation_id ?? undefined }, undefined);
    }
  };

  const unlisten = options.listen
    ? await options.listen(JOBS_CHANNEL, (type) => {
        if (type !== '' && !definitions.has(type)) return;
        backlog = true;
        requestFill();
      }).catch((err: unknown) => {
        logger.warn({ err }, 'could not listen for new jobs; polling only');
        return undefined;
      })
    : undefined;

  const every = (ms: number, work: () => Promise<void>, what: string): NodeJS.Timeout => {
    const timer = setInterval(() => {
      if (!stopping) work().catch((err: unknown) => logger.warn({ err }, `${what} failed; will retry`));
    }, ms);
    timer.unref();
    return timer;
  };
  const timers = [
    every(options.pollIntervalMs, fill, 'polling for jobs'),
    every(Math.max(100, Math.floor(options.leaseMs / 3)), () => store.renew(workerId, [...running.keys()], options.leaseMs), 'renewing job leases'),
    every(Math.min(CRON_CHECK_MS, options.leaseMs), reclaim, 'taking back expired jobs'),
    every(CRON_CHECK_MS, enqueueDueTicks, 'enqueueing scheduled jobs'),
    every(SWEEP_EVERY_MS, async () => void (await store.sweepCompleted(options.retentionS)), 'sweeping completed jobs'),
  ];
  await enqueueDueTicks().catch((err: unknown) => logger.warn({ err }, 'enqueueing scheduled jobs failed; will retry'));
  void fill();

  return {
    types,
    async stop(graceMs) {
      stopping = true;
      for (const timer of timers) clearInterval(timer);
      await unlisten?.().catch(() => undefined);
      if (running.size === 0) return true;
      const drained = new Promise<true>((resolve) => {
        idle = () => resolve(true);
      });
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), graceMs);
      });
      const clean = await Promise.race([drained, expired]);
      clearTimeout(timer);
      if (!clean) {
        logger.warn({ running: running.size, grace_ms: graceMs }, 'shutdown grace period over; handing running jobs back to the queue');
        for (const controller of running.values()) controller.abort(new ShutdownError());
        await drained;
      }
      return clean;
    },
  };
}

/**
 * Gathers single calls made in one turn of the event loop into one call of `many`; while one
 * is in flight the next batch waits, so a busy worker sends one statement for many jobs.
 */
function batched(many: (ids: readonly string[]) => Promise<Set<string>>): (id: string) => Promise<boolean> {
  let next: Map<string, { resolve(kept: boolean): void; reject(error: unknown): void }> | undefined;
  let inFlight = false;
  const flush = (): void => {
    const batch = next;
    next = undefined;
    if (!batch) return;
    inFlight = true;
    many([...batch.keys()])
      .then(
        (kept) => {
          for (const [id, waiter] of batch) waiter.resolve(kept.has(id));
        },
        (error: unknown) => {
          for (const waiter of batch.values()) waiter.reject(error);
        },
      )
      .finally(() => {
        inFlight = false;
        flush();
      });
  };
  return (id) =>
    new Promise<boolean>((resolve, reject) => {
      const first = next === undefined;
      (next ??= new Map()).set(id, { resolve, reject });
      if (first && !inFlight) setImmediate(() => !inFlight && flush());
    });
}

class JobTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`job timed out after ${timeoutMs} ms`);
    this.name = 'JobTimeoutError';
  }
}

class ShutdownError extends Error {
  constructor() {
    super('worker shutting down');
    this.name = 'ShutdownError';
  }
}

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

type Outcome = 'completed' | 'retry' | 'dead' | 'lost';

/** Bounds of `job_duration_seconds`; a job latency SLO's threshold must be one of them. */
export const JOB_DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300] as const;

/**
 * Queue depth and age at scrape time; duration and outcomes as jobs finish. Each attempt is
 * counted once (`count`), by the worker that settles it; its run time is known only to the
 * worker that ran it.
 */
function jobMetrics(metrics: Metrics, store: ReturnType<typeof jobStore>): (type: string, outcome: Outcome, seconds: number | undefined, count: boolean) => void {
  let snapshot: Promise<Awaited<ReturnType<typeof store.stats>>> | undefined;
  // Both gauges read one query per scrape.
  const stats = () => {
    snapshot ??= store.stats().finally(() => setTimeout(() => (snapshot = undefined), 1_000).unref());
    return snapshot;
  };
  metrics.gauge('jobs_queue_depth', 'Jobs by type and state (queued, active, dead).', ['type', 'state'], async (set) => {
    for (const row of await stats().catch(() => [])) set({ type: row.type, state: row.state }, row.count);
  });
  metrics.gauge('jobs_oldest_ready_age_seconds', 'Age of the oldest job ready to run but not yet started, by type.', ['type'], async (set) => {
    for (const row of await stats().catch(() => [])) if (row.oldest_s !== null) set({ type: row.type }, row.oldest_s);
  });
  const processed = metrics.tally('jobs_processed_total', 'Job attempts by type and outcome (completed; retry: failed, will run again; dead: failed for the last time; lost: its worker stopped renewing the lease and another took the job back).', ['type', 'outcome']);
  const duration = new Histogram({
    name: 'job_duration_seconds',
    help: 'Run time of job attempts by type and outcome.',
    labelNames: ['type', 'outcome'],
    buckets: [...JOB_DURATION_BUCKETS],
    registers: [metrics.registry],
  });
  return (type, outcome, seconds, count) => {
    if (count) processed(type, outcome);
    if (seconds !== undefined) duration.observe({ type, outcome }, seconds);
  };
}
