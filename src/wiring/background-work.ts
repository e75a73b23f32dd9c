// The work a process does besides answering HTTP: the job worker (with its heartbeat) and
// the leader-elected scheduler every process stands for.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Feature, Platform } from '../feature.js';
import type { DatabaseHandle } from '../platform/db/database.js';
import { startLeaderElection } from '../platform/leader/leader-lease.js';
import { startScheduler } from '../platform/leader/scheduler.js';
import type { JobDefinition } from '../platform/queue/job-types.js';
import { startJobWorker } from '../platform/queue/job-worker.js';
import { startHeartbeat } from '../worker/heartbeat.js';
import { reportDeadJobs } from './error-reports.js';

export interface BackgroundWork {
  /** Stops claiming jobs at once; resolves true when the running ones finished within `graceMs`. */
  drainJobs(graceMs: number): Promise<boolean>;
  /** Stops the scheduler (releasing the lease so another instance takes over at once) and the heartbeat. */
  close(): Promise<void>;
}

export async function startBackgroundWork(platform: Platform, database: Pick<DatabaseHandle, 'listen'>, features: readonly Feature[], definitions: readonly JobDefinition[]): Promise<BackgroundWork> {
  const { config, db, logger } = platform;
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const closer of closers) await closer().catch((err: unknown) => logger.warn({ err }, 'error while closing'));
  };
  try {
    let drainJobs = async (_graceMs: number) => true;
    if (platform.roles.worker) {
      const heartbeat = await startHeartbeat(db, logger);
      closers.push(() => heartbeat.stop());
      const worker = await startJobWorker({
        db,
        queue: platform.queue,
        definitions,
        workerId: heartbeat.workerId,
        logger,
        metrics: platform.metrics,
        listen: database.listen,
        concurrency: config.workerConcurrency,
        pollIntervalMs: config.jobPollIntervalMs,
        leaseMs: config.jobLeaseMs,
        retentionS: config.jobRetentionDays * 86_400,
        inJobSpan: platform.tracing?.inJobSpan,
        onDead: platform.errorReports && reportDeadJobs(platform.errorReports, platform.tracing),
      });
      logger.info({ worker_id: heartbeat.workerId, job_types: worker.types, concurrency: config.workerConcurrency }, 'worker started');
      drainJobs = (graceMs) => worker.stop(graceMs);
      // Before the heartbeat goes: a worker with jobs still running is alive.
      closers.unshift(async () => void (await worker.stop(0)));
    }

    // Every process (web and worker) stands for election; only the leader runs scheduled work.
    const election = await startLeaderElection({ db, name: 'scheduler', holderId: `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`, logger });
    const scheduler = startScheduler({ db, election, jobs: features.flatMap((feature) => feature.schedules ?? []), logger });
    // Before the database closes: the lease is released so another instance takes over at once.
    closers.unshift(async () => {
      await scheduler.stop();
      await election.stop();
    });
    return { drainJobs, close };
  } catch (err) {
    await close();
    throw err;
  }
}
