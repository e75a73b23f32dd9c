/**
 * Every metric the shipped alerts and dashboards may query: Rampart's own (exported today, or
 * planned under a name fixed here so the rules can be written now) and the exporters'. The
 * README's metrics table is generated from this list, and a test holds every rule and panel
 * to it.
 */
export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface CatalogueEntry {
  name: string;
  type: MetricType;
  labels: string[];
  meaning: string;
  /** `rampart` metrics: exported today, or planned (named here, exported by a later step). */
  status?: 'exported' | 'planned';
}

export interface MetricSource {
  source: string;
  /** Where it comes from, for the README. */
  origin: string;
  metrics: CatalogueEntry[];
}

const exported = (name: string, type: MetricType, labels: string[], meaning: string): CatalogueEntry => ({ name, type, labels, meaning, status: 'exported' });
const metric = (name: string, type: MetricType, labels: string[], meaning: string): CatalogueEntry => ({ name, type, labels, meaning });

export const METRIC_CATALOGUE: MetricSource[] = [
  {
    source: 'rampart',
    origin: 'every Rampart process, on its metrics port (`METRICS_PORT`, `/metrics`)',
    metrics: [
      exported('http_requests_total', 'counter', ['method', 'route', 'status'], 'Requests answered; `route` is the pattern (`unmatched` for 404s), never the raw URL. Probes are `/health` and `/readiness`.'),
      exported('http_request_duration_seconds', 'histogram', ['method', 'route', 'status'], 'Request duration; buckets 5 ms … 10 s, with bounds at 0.1, 0.5, 1 and 3 s for the SLOs.'),
      exported('http_requests_shed_total', 'counter', [], 'Requests refused with 503 by load shedding.'),
      exported('rate_limit_decisions_total', 'counter', ['tier', 'outcome'], 'Rate-limit decisions: `allowed`, `limited`, `failed_open`, `failed_closed`.'),
      exported('db_pool_connections', 'gauge', ['state'], 'Database pool connections: `active` (lent to a query or transaction), `idle`.'),
      exported('db_pool_waiting_clients', 'gauge', [], 'Queries waiting for a pooled connection.'),
      exported('db_pool_max_connections', 'gauge', [], 'The pool\'s size limit (`DATABASE_POOL_MAX`; 1 for the embedded database).'),
      exported('jobs_queue_depth', 'gauge', ['type', 'state'], 'Jobs by type and state (`queued`, `active`, `dead`); every worker reports the same queue.'),
      exported('jobs_oldest_ready_age_seconds', 'gauge', ['type'], 'Age of the oldest job ready to run but not started.'),
      exported('jobs_processed_total', 'counter', ['type', 'outcome'], 'Job attempts by outcome: `completed`, `retry`, `dead`, `lost`.'),
      exported('job_duration_seconds', 'histogram', ['type', 'outcome'], 'Run time of job attempts; buckets 10 ms … 300 s.'),
      exported('secrets_provider_last_success_timestamp_seconds', 'gauge', ['provider'], 'When each secrets provider was last read successfully (Unix time).'),
      exported('contact_submissions_total', 'counter', ['outcome'], 'Contact submissions answered 202: `stored`, `honeypot`.'),
      exported('process_cpu_seconds_total', 'counter', [], 'CPU time of the process (prom-client default metrics, like the rest of `process_*` and `nodejs_*`).'),
      exported('process_resident_memory_bytes', 'gauge', [], 'Resident memory of the process.'),
      exported('process_start_time_seconds', 'gauge', [], 'When the process started (Unix time).'),
      exported('process_open_fds', 'gauge', [], 'Open file descriptors.'),
      exported('nodejs_eventloop_lag_p99_seconds', 'gauge', [], 'Event-loop delay, 99th percentile.'),
      exported('nodejs_heap_size_used_bytes', 'gauge', [], 'V8 heap in use.'),
      exported('nodejs_heap_size_total_bytes', 'gauge', [], 'V8 heap reserved.'),
      exported('nodejs_gc_duration_seconds', 'histogram', ['kind'], 'Garbage collection pauses by kind.'),
      exported('db_query_duration_seconds', 'histogram', ['operation'], 'Database statements by operation (first SQL keyword), failed ones included.'),
      exported('redis_command_duration_seconds', 'histogram', ['command'], 'Redis commands by name, failed ones included (with `REDIS_URL`).'),
      exported('redis_command_errors_total', 'counter', ['command'], 'Redis commands that failed (timeout, connection lost, script error), by name.'),
      exported('redis_connected', 'gauge', [], '1 while the shared Redis connection is ready for commands, else 0; absent without `REDIS_URL`.'),
      exported('auth_failures_total', 'counter', ['reason'], 'Failed sign-ins and credential checks by reason: `unknown_user`, `bad_password`, `disabled`, `locked` (429 while throttled), `mfa_invalid`, `mfa_token_invalid`, `reset_token_invalid`, `refresh_token_invalid`, `access_token_invalid`, `api_key_invalid`. A request without any credential is not counted.'),
      exported('auth_mfa_failures_total', 'counter', [], 'Wrong TOTP or backup codes.'),
      exported('auth_lockouts_total', 'counter', ['scope'], 'Brute-force locks: an account (`account`) or a client address (`ip`) reached its failure limit.'),
      exported('build_info', 'gauge', ['version', 'git_sha', 'node'], 'Always 1; the labels say which build runs (`git_sha` baked in at build time).'),
      exported('secrets_rotation_overdue', 'gauge', ['secret'], '1 when the secret is older than its rotation policy (as `rampart secrets audit` reports), else 0; absent while its age is unknown. The database-held ones are read at most every 5 minutes.'),
      exported('worker_heartbeats', 'gauge', ['state'], 'Workers by heartbeat state (`alive`, `stale`), as web processes see them in the database.'),
      exported('backup_last_success_timestamp_seconds', 'gauge', [], 'When the last backup succeeded (Unix time).'),
      exported('backup_last_size_bytes', 'gauge', [], 'Size of the last successful backup.'),
      exported('backup_duration_seconds', 'gauge', [], 'Duration of the last backup run.'),
      exported('backup_failures_total', 'counter', [], 'Backup runs that failed.'),
      exported('backup_verify_last_success_timestamp_seconds', 'gauge', [], 'When a backup was last restored and verified (Unix time).'),
    ],
  },
  {
    source: 'prometheus',
    origin: 'Prometheus itself, for every scrape target',
    metrics: [metric('up', 'gauge', ['job', 'instance'], '1 when the last scrape succeeded.')],
  },
  {
    source: 'postgres_exporter',
    origin: '[postgres_exporter](https://github.com/prometheus-community/postgres_exporter) next to each PostgreSQL server (job `postgres`)',
    metrics: [
      metric('pg_up', 'gauge', [], '1 when the exporter can connect to the server.'),
      metric('pg_stat_activity_count', 'gauge', ['datname', 'state'], 'Connections by database and state.'),
      metric('pg_settings_max_connections', 'gauge', [], 'The server\'s `max_connections`.'),
      metric('pg_replication_lag_seconds', 'gauge', [], 'How far a replica\'s replay is behind (replicas only).'),
      metric('pg_database_size_bytes', 'gauge', ['datname'], 'Size of each database.'),
    ],
  },
  {
    source: 'redis_exporter',
    origin: '[redis_exporter](https://github.com/oliver006/redis_exporter) next to each Redis (job `redis`)',
    metrics: [
      metric('redis_up', 'gauge', [], '1 when the exporter can reach Redis.'),
      metric('redis_memory_used_bytes', 'gauge', [], 'Memory Redis uses.'),
      metric('redis_memory_max_bytes', 'gauge', [], 'Its `maxmemory` (0: unlimited).'),
      metric('redis_keyspace_hits_total', 'counter', [], 'Key lookups that found their key.'),
      metric('redis_keyspace_misses_total', 'counter', [], 'Key lookups that did not.'),
      metric('redis_connected_clients', 'gauge', [], 'Client connections.'),
      metric('redis_evicted_keys_total', 'counter', [], 'Keys evicted under memory pressure.'),
    ],
  },
  {
    source: 'node_exporter',
    origin: '[node_exporter](https://github.com/prometheus/node_exporter) on every host (job `node`)',
    metrics: [
      metric('node_cpu_seconds_total', 'counter', ['cpu', 'mode'], 'CPU time by mode.'),
      metric('node_memory_MemAvailable_bytes', 'gauge', [], 'Memory available to new work.'),
      metric('node_memory_MemTotal_bytes', 'gauge', [], 'Total memory.'),
      metric('node_filesystem_avail_bytes', 'gauge', ['mountpoint', 'fstype', 'device'], 'Free space available to unprivileged users.'),
      metric('node_filesystem_size_bytes', 'gauge', ['mountpoint', 'fstype', 'device'], 'File system size.'),
    ],
  },
  {
    source: 'blackbox_exporter',
    origin: '[blackbox_exporter](https://github.com/prometheus/blackbox_exporter) probing the public URL with the `http_2xx` module (job `blackbox`)',
    metrics: [
      metric('probe_success', 'gauge', [], '1 when the probe succeeded.'),
      metric('probe_ssl_earliest_cert_expiry', 'gauge', [], 'When the first certificate of the served chain expires (Unix time).'),
      metric('probe_duration_seconds', 'gauge', [], 'How long the probe took.'),
    ],
  },
];

/** Every series name a query may use: histograms bring their `_bucket`, `_sum` and `_count`. */
export function knownSeriesNames(): Set<string> {
  const names = new Set<string>();
  for (const { metrics } of METRIC_CATALOGUE) {
    for (const m of metrics) {
      if (m.type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${m.name}${suffix}`);
      else names.add(m.name);
    }
  }
  return names;
}
