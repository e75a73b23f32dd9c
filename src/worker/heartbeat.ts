import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Logger } from '../platform/log/logger.js';
import type { Tables } from '../platform/db/tables.js';

export interface WorkerHeartbeat {
  workerId: string;
  stop(): Promise<void>;
}

export const HEARTBEAT_INTERVAL_MS = 5_000;
/** A worker silent for three beats is stale. */
export const STALE_AFTER_S = 15;

/** Records this worker's liveness in Postgres so every web instance can report it. */
export async function startHeartbeat(db: Kysely<Tables>, logger: Logger, intervalMs = HEARTBEAT_INTERVAL_MS): Promise<WorkerHeartbeat> {
  const workerId = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const beat = () =>
    db
      .insertInto('worker_heartbeats')
      .values({ worker_id: workerId, hostname: hostname(), pid: process.pid })
      .onConflict((oc) => oc.column('worker_id').doUpdateSet({ last_seen_at: sql`now()` }))
      .execute();
  await beat();
  const timer = setInterval(() => {
    beat().catch((err: unknown) => logger.warn({ err }, 'worker heartbeat failed; will retry'));
  }, intervalMs);
  timer.unref();
  return {
    workerId,
    async stop() {
      clearInterval(timer);
      await db.deleteFrom('worker_heartbeats').where('worker_id', '=', workerId).execute().catch(() => undefined);
    },
  };
}

export interface WorkerCensus {
  alive: number;
  stale: number;
  oldest_heartbeat_s: number | null;
}

export async function workerCensus(db: Kysely<Tables>): Promise<WorkerCensus> {
  const row = await db
    .selectFrom('worker_heartbeats')
    .select([
      sql<number>`count(*) filter (where last_seen_at > now() - make_interval(secs => ${STALE_AFTER_S}))`.as('alive'),
      sql<number>`count(*) filter (where last_seen_at <= now() - make_interval(secs => ${STALE_AFTER_S}))`.as('stale'),
      sql<number | null>`extract(epoch from now() - min(last_seen_at))`.as('oldest'),
    ])
    .executeTakeFirstOrThrow();
  return { alive: Number(row.alive), stale: Number(row.stale), oldest_heartbeat_s: row.oldest === null ? null : Math.round(Number(row.oldest)) };
}
