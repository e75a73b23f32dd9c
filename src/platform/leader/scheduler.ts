import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Tables } from '../db/tables.js';
import type { LeaderElection } from './leader-lease.js';

export interface ScheduledRunContext {
  /** The start of the interval this run stands for (`floor(now / everyMs) * everyMs`). */
  tick: Date;
  fencingToken: bigint;
}

export interface ScheduledJob {
  /** Unique among jobs; it keys `scheduled_runs`. */
  name: string;
  everyMs: number;
  run(ctx: ScheduledRunContext): Promise<void>;
}

export interface SchedulerOptions {
  db: Kysely<Tables>;
  election: Pick<LeaderElection, 'name' | 'holderId' | 'isLeader' | 'fencingToken'>;
  jobs: readonly ScheduledJob[];
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
}

export interface Scheduler {
  /** Stops scheduling and waits for runs in progress. */
  stop(): Promise<void>;
}

const DAY_MS = 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;

export function alignedTick(nowMs: number, everyMs: number): Date {
  return new Date(Math.floor(nowMs / everyMs) * everyMs);
}

/**
 * Claims `(job, tick)` for the holder of `lease`, in one statement: the row is written only
 * while the lease still names this holder with this token, and never twice. A leader that was
 * paused and replaced (its token is no longer the lease's) therefore claims nothing.
 */
export async function claimRun(
  db: Kysely<Tables>,
  lease: { name: string; holderId: string; fencingToken: bigint },
  job: string,
  tick: Date,
): Promise<boolean> {
  const token = String(lease.fencingToken);
  const claimed = await db
    .insertInto('scheduled_runs')
    .columns(['job', 'tick', 'fencing_token', 'ran_by'])
    .expression(
      db
        .selectFrom('leader_leases')
        .select([sql<string>`${job}::text`.as('job'), sql<Date>`${tick.toISOString()}::timestamptz`.as('tick'), 'fencing_token', 'holder'])
        .where('name', '=', lease.name)
        .where('holder', '=', lease.holderId)
        .where('fencing_token', '=', token)
        .where('expires_at', '>', sql<Date>`now()`),
    )
    .onConflict((oc) => oc.columns(['job', 'tick']).doNothing())
    .returning('job')
    .executeTakeFirst();
  return claimed !== undefined;
}

/**
 * Runs each job once per aligned tick, on the leader only. Ticks come from the local clock;
 * the database decides who may run one, so clock skew between instances can delay or skip a
 * tick around a failover but never run it twice. A tick missed while nobody led is skipped,
 * not caught up.
 */
export function startScheduler({ db, election, jobs, logger }: SchedulerOptions): Scheduler {
  const timers = new Map<string, NodeJS.Timeout>();
  const running = new Map<string, Promise<void>>();
  const lastPrune = new Map<string, number>();
  let stopped = false;

  const fire = async (job: ScheduledJob, tick: Date) => {
    const token = election.fencingToken();
    if (!election.isLeader() || token === undefined) return;
    if (running.has(job.name)) {
      logger.warn({ job: job.name, tick }, 'scheduled job still running from an earlier tick; this tick is skipped');
      return;
    }
    const work = (async () => {
      if (!(await claimRun(db, { name: election.name, holderId: election.holderId, fencingToken: token }, job.name, tick))) return;
      try {
        await job.run({ tick, fencingToken: token });
      } catch (err) {
        logger.error({ err, job: job.name, tick }, 'scheduled job failed');
      }
      await prune(job, tick);
    })()
      .catch((err: unknown) => logger.warn({ err, job: job.name, tick }, 'could not claim a scheduled tick'))
      .finally(() => running.delete(job.name));
    running.set(job.name, work);
    await work;
  };

  const prune = async (job: ScheduledJob, tick: Date) => {
    if (Date.now() - (lastPrune.get(job.name) ?? 0) < PRUNE_EVERY_MS) return;
    lastPrune.set(job.name, Date.now());
    // Older than any tick a leader could still try to claim, by a wide margin.
    const before = new Date(tick.getTime() - Math.max(DAY_MS, 2 * job.everyMs));
    await db.deleteFrom('scheduled_runs').where('job', '=', job.name).where('tick', '<', before).execute();
  };

  const schedule = (job: ScheduledJob) => {
    if (stopped) return;
    const now = Date.now();
    const next = (Math.floor(now / job.everyMs) + 1) * job.everyMs;
    const timer = setTimeout(() => {
      schedule(job);
      void fire(job, new Date(next));
    }, next - now);
    timer.unref();
    timers.set(job.name, timer);
  };

  const names = new Set(jobs.map((job) => job.name));
  if (names.size !== jobs.length) throw new Error('scheduled job names must be unique');
  for (const job of jobs) {
    if (!(job.everyMs >= 1)) throw new Error(`scheduled job ${job.name}: everyMs must be at least 1`);
    schedule(job);
  }

  return {
    async stop() {
      stopped = true;
      for (const timer of timers.values()) clearTimeout(timer);
      await Promise.all(running.values());
    },
  };
}
