import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from './config/schema.js';
import { unsafeSettings } from './config/production-guard.js';
import { authRoutes, createIdentity, exposeAuthentication } from './features/auth/index.js';
import { contactJobs, contactRoutes } from './features/contact/index.js';
import { createMailer } from './platform/mail/create-mailer.js';
import { authMaintenanceJobs } from './features/auth/maintenance.js';
import { documentJobs, documentsRoutes } from './features/documents/index.js';
import { createCache } from './platform/cache/cache-aside.js';
import { sendProblem } from './platform/http/problem.js';
import { PROBE_PATHS, pathOf } from './platform/http/probe-paths.js';
import { startLeaderElection } from './platform/leader/leader-lease.js';
import { startScheduler } from './platform/leader/scheduler.js';
import { createLimiter, rateLimitTiers } from './platform/ratelimit/limiter.js';
import { createMemoryStore } from './platform/ratelimit/memory-store.js';
import { rateLimitHooks } from './platform/ratelimit/rate-limit-hooks.js';
import { createRedisStore } from './platform/ratelimit/redis-store.js';
import { createRedisConnection, redisConfigured, type RedisConnection } from './platform/redis/redis-connection.js';
import { packageRoot, packageVersion } from './package-info.js';
import { openDatabase, type DatabaseHandle } from './platform/db/database.js';
import { migrateUp } from './platform/db/migrations.js';
import { migratedTemplateDir } from './platform/db/template-paths.js';
import { healthRoutes } from './platform/health/health-routes.js';
import type { DependencyCheck } from './platform/health/readiness.js';
import { buildHttpServer } from './platform/http/server.js';
import { watchPressure, type PressureGauge } from './platform/http/load-shedding.js';
import { createLogging, type Logger } from './platform/log/logger.js';
import { createRequestLineWriter } from './platform/log/request-line.js';
import { createMetrics, type Metrics } from './platform/metrics/registry.js';
import { formatHost, startMetricsServer, type MetricsServer } from './platform/metrics/metrics-server.js';
import { createRedisProbe, redisNotConfigured, type RedisProbe } from './platform/redis/redis-probe.js';
import { startHeartbeat, workerCensus, type WorkerHeartbeat } from './worker/heartbeat.js';
import { createSecretStore, type SecretStore } from './platform/secrets/secret-store.js';
import { secretsReadiness } from './platform/secrets/secrets-readiness.js';
import { createFieldKeyring, type FieldKeyring } from './platform/crypto/field-keyring.js';
import { deriveFallbackFieldKeys } from './features/auth/email-protection.js';
import { emailReencryptionJob } from './features/auth/email-reencryption.js';
import { redactRotatedSecrets, rotateFieldKeysLive, secretsOf } from './secrets-wiring.js';
import { createJobQueue } from './platform/queue/job-queue.js';
import { createObjectStorage, type StorageSettings } from './platform/storage/create-storage.js';
import type { JobDefinition, JobQueue } from './platform/queue/job-types.js';
import { startJobWorker, type JobWorker } from './platform/queue/job-worker.js';
import type { Kysely } from 'kysely';
import type { Tables } from './platform/db/tables.js';

export interface RampartOptions {
  /** Serve HTTP (web). */
  web: boolean;
  /** Run the worker loop (in-process with web for `npm start`, alone for `rampart worker`). */
  worker: boolean;
  /** Extra route plugins; they inherit every hardening control. */
  plugins?: ReadonlyArray<FastifyPluginAsync>;
  /** Extra job types (from `--plugin` modules exporting `jobs`), run by the worker alongside the built-in ones. */
  jobs?: ReadonlyArray<(host: JobHost) => JobDefinition[]>;
  /** The loaded secrets chain (`resolveRuntime`); refreshed while running. Absent: the config's values, never refreshed. */
  secrets?: SecretStore;
}

export interface Rampart {
  logger: Logger;
  urls: { api?: string; docs?: string; metrics: string };
  /** Stops taking work, lets in-flight requests finish within the grace period, closes pools. Resolves true when nothing was cut off. */
  stop(): Promise<boolean>;
  /** Re-reads the secrets chain and the signing keys now (SIGHUP). Resolves with the names of secrets that changed. */
  refreshSecrets(): Promise<string[]>;
}

/** What a job definition gets to work with. */
export interface JobHost {
  db: Kysely<Tables>;
  queue: JobQueue;
  logger: Logger;
}

/** Composition root: config → platform → features → server. */
export async function startRampart(config: Config, options: RampartOptions): Promise<Rampart> {
  const secrets = secretsOf(config);
  const secretStore = options.secrets ?? createSecretStore([]);
  const logging = createLogging({ level: config.logLevel, secretKeys: secrets.keys, secretValues: secrets.values });
  const { logger } = logging;
  redactRotatedSecrets(secretStore, logging.redactor, logger);
  for (const problem of unsafeSettings(config)) logger.warn(`unsafe for production: ${problem}`);

  // Personal data (email addresses) is encrypted with these; a rotation swaps them live.
  const fieldKeys: FieldKeyring = createFieldKeyring(config.fieldEncryptionKeys ?? deriveFallbackFieldKeys(config.appSecret ?? ''));
  rotateFieldKeysLive(secretStore, fieldKeys, logger);

  const metrics = createMetrics();
  const migrateOnStart = config.migrateOnStart ?? config.env === 'development';
  const database = await openDatabase({
    url: config.databaseUrl,
    password: () => secretStore.get('DATABASE_PASSWORD') ?? config.databasePassword,
    // Secrets Manager's AWSPREVIOUS: a rotation may stage the new password before ALTER ROLE.
    previousPassword: () => secretStore.previous('DATABASE_PASSWORD')?.value,
    // A refused password may be one rotated a moment ago: re-read the chain, then retry.
    onAuthenticationFailure: async () => void (await secretStore.refresh()),
    dataDir: config.dataDir,
    poolMax: config.databasePoolMax,
    idleTimeoutMs: config.databaseIdleTimeoutMs,
    maxLifetimeS: config.databaseMaxLifetimeS,
    connectTimeoutMs: config.databaseConnectTimeoutMs,
    // A first embedded start copies a cluster with the migrations already applied.
    seedTemplate: migrateOnStart ? migratedTemplateDir() : undefined,
    logger,
  });
  const closers: Array<() => Promise<void>> = [() => database.close()];
  if (config.secretsRefreshS > 0) secretStore.startRefreshing(config.secretsRefreshS * 1000);
  closers.unshift(async () => secretStore.stop());
  let reloadSigningKeys: () => Promise<void> = async () => {};
  try {
    if (migrateOnStart) {
      const { applied } = await migrateUp(database);
      if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    }
    registerDatabaseMetrics(metrics, database);
    // Names and times only; a failing provider shows as a growing age.
    metrics.gauge('secrets_provider_last_success_timestamp_seconds', 'When each secrets provider was last read successfully (Unix time).', ['provider'], (set) => {
      for (const status of secretStore.statuses()) if (status.lastSuccessAt) set({ provider: status.name }, status.lastSuccessAt.getTime() / 1000);
    });

    // The queue needs the definitions for their policies (attempts, priority) and the
    // definitions need the queue (a job may enqueue another), hence the late binding.
    const jobDefinitions: JobDefinition[] = [];
    const queue = createJobQueue({ definitions: jobDefinitions });
    const storage = await createObjectStorage(storageSettings(config));
    jobDefinitions.push(...documentJobs({ db: database.db, storage, retentionS: config.documentsRetentionS, purgeSchedule: config.documentsPurgeSchedule, orphanSweepSchedule: config.documentsOrphanSweepSchedule, extractMaxMemoryMb: config.documentsExtractMaxMemoryMb }));
    const jobHost: JobHost = { db: database.db, queue, logger };
    const mailer = createMailer({ smtpUrl: config.smtpUrl, outboxDirectory: join(config.dataDir, 'outbox'), from: config.mailFrom });
    jobDefinitions.push(...contactJobs({ db: database.db, fieldKeys, mailer, inbox: config.contactInbox }));
    if (config.env === 'production' && config.contactInbox === undefined) logger.warn('CONTACT_INBOX is not set: contact messages are stored, nobody is mailed');
    for (const define of options.jobs ?? []) jobDefinitions.push(...define(jobHost));

    const heartbeat: WorkerHeartbeat | undefined = options.worker ? await startHeartbeat(database.db, logger) : undefined;
    if (heartbeat) closers.unshift(() => heartbeat.stop());
    let worker: JobWorker | undefined;
    if (options.worker && heartbeat) {
      worker = await startJobWorker({
        db: database.db,
        queue,
        definitions: jobDefinitions,
        workerId: heartbeat.workerId,
        logger,
        metrics,
        listen: database.listen,
        concurrency: config.workerConcurrency,
        pollIntervalMs: config.jobPollIntervalMs,
        leaseMs: config.jobLeaseMs,
        retentionS: config.jobRetentionDays * 86_400,
      });
      logger.info({ worker_id: heartbeat.workerId, job_types: worker.types, concurrency: config.workerConcurrency }, 'worker started');
      const started = worker;
      // Before the heartbeat goes: a worker with jobs still running is alive.
      closers.unshift(async () => void (await started.stop(0)));
    }

    // Every process (web and worker) stands for election; only the leader runs scheduled work.
    const election = await startLeaderElection({ db: database.db, name: 'scheduler', holderId: `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`, logger });
    const scheduler = startScheduler({ db: database.db, election, jobs: [...authMaintenanceJobs(database.db), emailReencryptionJob(database.db, fieldKeys, config.appSecret ?? '')], logger });
    // Before the database closes: the lease is released so another instance takes over at once.
    closers.unshift(async () => {
      await scheduler.stop();
      await election.stop();
    });

    const metricsServer: MetricsServer = await startMetricsServer(metrics, config.host, config.metricsPort, logger);
    closers.push(() => metricsServer.close());

    let app: FastifyInstance | undefined;
    let shuttingDown = false;
    let pressure: PressureGauge | undefined;
    if (options.web) {
      const redisSettings = {
        url: config.redisUrl,
        sentinels: config.redisSentinels,
        masterName: config.redisMasterName,
        clusterNodes: config.redisClusterNodes,
        commandTimeoutMs: config.redisCommandTimeoutMs,
        connectTimeoutMs: config.databaseConnectTimeoutMs,
      };
      const redisConnection: RedisConnection | undefined = redisConfigured(redisSettings) ? createRedisConnection(redisSettings) : undefined;
      if (redisConnection) closers.push(() => redisConnection.close());
      const redis: RedisProbe | undefined = redisConnection ? createRedisProbe(redisConnection, config.databaseConnectTimeoutMs) : undefined;
      pressure = watchPressure({ maxEventLoopDelayMs: config.loadShedMaxEventLoopDelayMs, maxHeapUsedBytes: config.loadShedMaxHeapUsedBytes });
      const checks: DependencyCheck[] = [
        { name: 'database', critical: true, check: async () => ({ configured: true, ...(await database.check(1_000)) }) },
        { name: 'redis', critical: false, check: async () => (redis ? redis.check() : redisNotConfigured) },
        // A provider failing at refresh keeps its last values: degraded, not unavailable.
        { name: 'secrets', critical: false, check: async () => secretsReadiness(secretStore.statuses()) },
        // Only documents need it: uploads fail while it is away, everything else serves on.
        { name: 'storage', critical: false, check: () => storage.check() },
      ];
      const cache = createCache({ redis: redisConnection?.client, prefix: config.redisKeyPrefix, logger });
      const identity = await createIdentity(config, database.db, logger, {
        cache,
        revocations: redisConnection ? { redis: redisConnection.client, prefix: config.redisKeyPrefix } : undefined,
        fieldKeys,
        mailer,
      });
      reloadSigningKeys = () => identity.keyring.reload();
      secretStore.onChange((keys) => {
        const value = secretStore.get('API_KEY_PEPPER');
        if (keys.includes('API_KEY_PEPPER') && value !== undefined) identity.apiKeys.peppers.replace(value);
      });
      closers.unshift(() => cache.close(), async () => identity.revocations.close?.());
      const rateLimits = config.rateLimitEnabled ? rateLimitPlugin(config, metrics, redisConnection) : undefined;
      const docs = config.docsEnabled
        ? { title: 'Rampart API', version: packageVersion, credentials: config.docsUser && config.docsPassword ? { user: config.docsUser, password: config.docsPassword } : undefined }
        : undefined;
      app = await buildHttpServer({
        logger,
        writeRequestLine: createRequestLineWriter(logging.destination, logging.redactor, () => logger.isLevelEnabled('info')),
        metrics: metrics.http,
        pressure,
        production: config.env === 'production',
        forceHttps: config.forceHttps,
        trustedProxies: config.trustedProxies,
        corsOrigins: config.corsOrigins,
        bodyLimitBytes: config.bodyLimitBytes,
        requestTimeoutMs: config.requestTimeoutMs,
        headersTimeoutMs: config.headersTimeoutMs,
        keepAliveTimeoutMs: config.keepAliveTimeoutMs,
        loadShedRetryAfterS: config.loadShedRetryAfterS,
        docs,
        staticRoot: join(packageRoot, 'public', 'assets'),
        routes: [
          ...(rateLimits ? [rateLimits] : []),
          (instance) => healthRoutes(instance, {
            checks,
            sections: async () => ({
              workers: await workerCensus(database.db).catch(() => ({ alive: null, stale: null, oldest_heartbeat_s: null, details: 'error: unavailable' })),
              observability: {
                log_json: true,
                log_level: config.logLevel,
                metrics: { enabled: true, port: config.metricsPort, path: '/metrics' },
                sentry: { configured: config.sentryDsn !== undefined },
                otel: { configured: config.otelEndpoint !== undefined },
              },
            }),
            isShuttingDown: () => shuttingDown,
            version: packageVersion,
            startedAt: Date.now(),
          }),
          authRoutes(identity),
          exposeAuthentication(identity, { jobs: queue, db: database.db }),
          documentsRoutes({ db: database.db, storage, queue, access: identity, uploadMaxBytes: config.uploadMaxBytes }),
          contactRoutes({
            db: database.db,
            fieldKeys,
            queue,
            access: identity,
            countSubmission: metrics.tally('contact_submissions_total', 'Contact submissions answered 202, by outcome (stored, honeypot).', ['outcome']),
          }),
          ...(options.plugins ?? []),
        ],
      });
      await app.listen({ port: config.port, host: config.host });
    }

    const address = app?.server.address();
    const apiUrl = address && typeof address === 'object' ? `http://${formatHost(config.host)}:${address.port}` : undefined;
    const urls = { api: apiUrl, docs: apiUrl && docsUrl(apiUrl, config), metrics: metricsServer.url };

    return {
      logger,
      urls,
      async refreshSecrets() {
        const changed = await secretStore.refresh();
        await reloadSigningKeys().catch((err: unknown) => logger.warn({ err }, 'could not re-read the signing keys; keeping the current ones'));
        logger.info({ changed }, 'secrets refreshed');
        return changed;
      },
      async stop() {
        shuttingDown = true;
        // The worker stops claiming at once and drains alongside the web requests.
        const jobsDrained = worker ? worker.stop(config.shutdownGraceMs) : Promise.resolve(true);
        let clean = true;
        if (app) {
          if (config.shutdownDelayMs > 0) await delay(config.shutdownDelayMs);
          clean = await closeWithin(app, config.shutdownGraceMs);
          if (!clean) logger.warn({ grace_ms: config.shutdownGraceMs }, 'shutdown grace period over; open requests were cut off');
        }
        clean = (await jobsDrained) && clean;
        pressure?.stop();
        for (const close of closers) await close().catch((err: unknown) => logger.warn({ err }, 'error while closing'));
        logger.info({ clean }, 'stopped');
        logging.flush();
        return clean;
      },
    };
  } catch (err) {
    for (const close of closers) await close().catch(() => undefined);
    throw err;
  }
}

/** The limiter's hooks at the root of the app, so every route registered after them is limited. */
function rateLimitPlugin(config: Config, metrics: Metrics, redis: RedisConnection | undefined): FastifyPluginAsync {
  const countDecision = metrics.tally('rate_limit_decisions_total', 'Rate-limit decisions by tier and outcome.', ['tier', 'outcome']);
  const limiter = createLimiter({
    store: redis ? createRedisStore({ client: redis.client, prefix: config.redisKeyPrefix }) : createMemoryStore(),
    tiers: rateLimitTiers(config),
    timeoutMs: config.rateLimitTimeoutMs,
    onDecision: countDecision,
  });
  return fp(async (app) => {
    await app.register(rateLimitHooks, {
      limiter,
      refuse: sendProblem,
      accountKeySecret: config.appSecret,
      exempt: (request) => PROBE_PATHS.has(pathOf(request.url)) || request.url.startsWith('/assets/'),
      principalKey: (request) => (request.principal ? `user:${request.principal.userId}` : request.apiKey ? `key:${request.apiKey.keyId}` : undefined),
    });
  });
}

function storageSettings(config: Config): StorageSettings {
  if (config.storageDriver === 'local') return { driver: 'local', dataDir: config.dataDir };
  return {
    driver: 's3',
    // loadConfig refuses STORAGE_DRIVER=s3 without a bucket.
    bucket: config.s3Bucket ?? '',
    region: config.s3Region,
    endpoint: config.s3Endpoint,
    forcePathStyle: config.s3ForcePathStyle,
    encryption: { algorithm: config.s3Sse as 'AES256' | 'aws:kms', kmsKeyId: config.s3SseKmsKeyId },
  };
}

function docsUrl(apiUrl: string, config: Config): string | undefined {
  return config.docsEnabled ? `${apiUrl}/docs` : undefined;
}

function registerDatabaseMetrics(metrics: Metrics, database: DatabaseHandle): void {
  metrics.gauge('db_pool_connections', 'Database pool connections by state.', ['state'], (set) => {
    const stats = database.poolStats();
    set({ state: 'total' }, stats.total);
    set({ state: 'idle' }, stats.idle);
    set({ state: 'waiting' }, stats.waiting);
  });
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function closeWithin(app: FastifyInstance, graceMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), graceMs);
  });
  const closed = app.close().then(() => true as const);
  const clean = await Promise.race([closed, expired]);
  clearTimeout(timer);
  if (!clean) app.server.closeAllConnections();
  return clean;
}
