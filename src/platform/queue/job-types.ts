import type { Kysely, Transaction } from 'kysely';
import type { Logger } from '../log/logger.js';
import type { Tables } from '../db/tables.js';

/** Where a job is written: the app's database handle, or the transaction of the data change it belongs to. */
export type JobExecutor = Kysely<Tables> | Transaction<Tables>;

export interface EnqueueOptions {
  /** Same key (per job type) → the job exists once and runs once; a second enqueue returns the first job. */
  idempotencyKey?: string;
  /** Higher runs first; default from the job's definition, else 0. */
  priority?: number;
  /** Run no earlier than this. */
  runAt?: Date;
  /** Carried into every log line of the job (JOB-3); the request's `X-Correlation-ID`. */
  correlationId?: string;
}

export interface EnqueuedJob {
  id: string;
  /** false when an earlier job with the same idempotency key exists (that job's id is returned). */
  created: boolean;
}

/** Writes jobs. Enqueue with a transaction (`trx`) and the job exists if and only if the transaction commits. */
export interface JobQueue {
  enqueue(executor: JobExecutor, type: string, payload: unknown, options?: EnqueueOptions): Promise<EnqueuedJob>;
}

export interface JobContext {
  id: string;
  type: string;
  /** 1 on the first run. */
  attempt: number;
  /** Bound with `job_id`, `job_type` and `correlation_id`; use it for every log line of the job. */
  logger: Logger;
  /** Aborted when the job's timeout passes or the worker is shutting down past its grace period. */
  signal: AbortSignal;
  correlationId: string | undefined;
}

/** One job type: what runs it and its policy. Features export these from their `jobs.ts`. */
export interface JobDefinition<Payload = unknown> {
  type: string;
  run(payload: Payload, context: JobContext): Promise<void>;
  /** Attempts in all before the job goes to the dead-letter queue (default 5). */
  maxAttempts?: number;
  /** A run longer than this fails the attempt (default 60 s). */
  timeoutMs?: number;
  /** First retry delay; doubles each attempt, with full jitter, up to `maxBackoffMs` (defaults 1 s, 5 min). */
  backoffMs?: number;
  maxBackoffMs?: number;
  priority?: number;
  /** Cron expression (5 or 6 fields, UTC): one job per tick across all workers. */
  schedule?: string;
}
