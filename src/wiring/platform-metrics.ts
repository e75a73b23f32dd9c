// Series the platform itself exports (OBS-2): database pool and statements, Redis commands,
// secrets freshness and build info. Labels come from our own code (statement kinds, command
// names, provider names), never from requests, so their number stays bounded.
import type { Kysely } from 'kysely';
import { packageVersion, buildGitSha } from '../package-info.js';
import type { Tables } from '../platform/db/tables.js';
import { workerCensus } from '../worker/heartbeat.js';
import type { DatabaseHandle } from '../platform/db/database.js';
import { operationOf, type QueryObserver } from '../platform/db/observed-dialect.js';
import type { Metrics } from '../platform/metrics/registry.js';
import { observeCommands, type CommandObserver } from '../platform/redis/observed-commands.js';
import { observeBoth } from './tracing.js';
import type { RedisConnection } from '../platform/redis/redis-connection.js';
import type { SecretStore } from '../platform/secrets/secret-store.js';

const QUERY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const REDIS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/** Times every database statement by operation; passed to openDatabase before the pool exists. */
export function queryDurationObserver(metrics: Metrics): QueryObserver {
  const startTimer = metrics.timer('db_query_duration_seconds', 'Database statements by operation (first SQL keyword), failed ones included.', ['operation'], QUERY_BUCKETS);
  return (query) => startTimer({ operation: operationOf(query.sql) });
}

export function registerDatabaseMetrics(metrics: Metrics, database: DatabaseHandle, poolMax: number): void {
  metrics.gauge('db_pool_connections', 'Database pool connections by state (active: lent to a query or transaction; idle: open, unused).', ['state'], (set) => {
    const { total, idle } = database.poolStats();
    set({ state: 'active' }, total - idle);
    set({ state: 'idle' }, idle);
  });
  metrics.gauge('db_pool_waiting_clients', 'Queries waiting for a pooled connection.', [], (set) => set({}, database.poolStats().waiting));
  metrics.gauge('db_pool_max_connections', 'The pool\'s size limit (DATABASE_POOL_MAX; 1 for the embedded database).', [], (set) => set({}, database.kind === 'pglite' ? 1 : poolMax));
}

export function registerRedisMetrics(metrics: Metrics, redis: RedisConnection, spans?: CommandObserver): void {
  const startTimer = metrics.timer('redis_command_duration_seconds', 'Redis commands by name, failed ones included.', ['command'], REDIS_BUCKETS);
  const countError = metrics.tally('redis_command_errors_total', 'Redis commands that failed (timeout, connection lost, script error), by name.', ['command']);
  const timed: CommandObserver = (command) => {
    const stop = startTimer({ command });
    return (error) => {
      stop();
      if (error !== undefined) countError(command);
    };
  };
  observeCommands(redis.client, spans ? observeBoth(timed, spans) : timed);
  metrics.gauge('redis_connected', '1 while the shared Redis connection is ready for commands.', [], (set) => set({}, redis.client.status === 'ready' ? 1 : 0));
}

/** Workers as the web process sees them in the database: a scrape costs one small query. */
export function registerWorkerCensusMetrics(metrics: Metrics, db: Kysely<Tables>): void {
  metrics.gauge('worker_heartbeats', 'Workers by heartbeat state (alive: seen within 15 s; stale: longer ago, not yet cleaned up).', ['state'], async (set) => {
    // A database outage must not take /metrics down with it: the series is absent meanwhile.
    const census = await workerCensus(db).catch(() => undefined);
    if (!census) return;
    set({ state: 'alive' }, census.alive);
    set({ state: 'stale' }, census.stale);
  });
}

export function registerProcessMetrics(metrics: Metrics, secrets: SecretStore): void {
  metrics.gauge('build_info', 'Always 1; the labels say which build runs.', ['version', 'git_sha', 'node'], (set) => set({ version: packageVersion, git_sha: buildGitSha, node: process.version }, 1));
  // Names and times only; a failing provider shows as a growing age.
  metrics.gauge('secrets_provider_last_success_timestamp_seconds', 'When each secrets provider was last read successfully (Unix time).', ['provider'], (set) => {
    for (const status of secrets.statuses()) if (status.lastSuccessAt) set({ provider: status.name }, status.lastSuccessAt.getTime() / 1000);
  });
}
