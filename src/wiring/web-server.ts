// The web half of a process: the hardened HTTP server with the platform's own routes (rate
// limits, health, readiness, docs) followed by every feature's routes.
import { join } from 'node:path';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config/schema.js';
import type { Feature, Platform } from '../feature.js';
import { packageRoot, packageVersion } from '../package-info.js';
import type { DatabaseHandle } from '../platform/db/database.js';
import { databaseOutage } from '../platform/db/failure-reason.js';
import { healthRoutes } from '../platform/health/health-routes.js';
import { createReadiness, publicReadinessDetail } from '../platform/health/readiness-report.js';
import type { DependencyCheck } from '../platform/health/readiness.js';
import { pressureGauge, type PressureGauge } from '../platform/http/load-shedding.js';
import { PROBE_PATHS, pathOf } from '../platform/http/probe-paths.js';
import { sendProblem } from '../platform/http/problem.js';
import { buildHttpServer } from '../platform/http/server.js';
import type { Logging } from '../platform/log/logger.js';
import { createRequestLineWriter } from '../platform/log/request-line.js';
import type { MetricsServer } from '../platform/metrics/metrics-server.js';
import type { Metrics } from '../platform/metrics/registry.js';
import { createLimiter, rateLimitTiers } from '../platform/ratelimit/limiter.js';
import { createMemoryStore } from '../platform/ratelimit/memory-store.js';
import { rateLimitHooks } from '../platform/ratelimit/rate-limit-hooks.js';
import { createRedisStore } from '../platform/ratelimit/redis-store.js';
import type { RedisConnection } from '../platform/redis/redis-connection.js';
import { createRedisProbe, redisNotConfigured } from '../platform/redis/redis-probe.js';
import { secretsReadiness } from '../platform/secrets/secrets-readiness.js';
import { liveSecret } from '../secrets-wiring.js';
import { workerCensus } from '../worker/heartbeat.js';
import { reportServerErrors } from './error-reports.js';
import { registerWorkerCensusMetrics } from './platform-metrics.js';

export interface WebServer {
  app: FastifyInstance;
  pressure: PressureGauge;
}

export async function startWebServer(
  platform: Platform,
  features: readonly Feature[],
  runtime: { database: DatabaseHandle; logging: Logging; isShuttingDown: () => boolean; internal: MetricsServer },
): Promise<WebServer> {
  const { config, metrics, logger } = platform;
  const { database, logging } = runtime;
  const redis = platform.redis ? createRedisProbe(platform.redis, config.databaseConnectTimeoutMs) : undefined;
  const checks: DependencyCheck[] = [
    { name: 'database', critical: true, check: async () => ({ configured: true, ...(await database.check(1_000)) }) },
    { name: 'redis', critical: false, check: async () => (redis ? redis.check() : redisNotConfigured) },
    // A provider failing at refresh keeps its last values: degraded, not unavailable.
    { name: 'secrets', critical: false, check: async () => secretsReadiness(platform.secrets.statuses()) },
    // Only documents need it: uploads fail while it is away, everything else serves on.
    { name: 'storage', critical: false, check: () => platform.storage.check() },
    ...features.flatMap((feature) => feature.readiness ?? []),
  ];
  const readiness = createReadiness({
    checks,
    sections: async () => ({
      workers: await workerCensus(platform.db).catch(() => ({ alive: null, stale: null, oldest_heartbeat_s: null, details: 'error: unavailable' })),
      observability: {
        log_json: true,
        log_level: config.logLevel,
        metrics: { enabled: true, port: runtime.internal.port, path: '/metrics' },
        // What really happened to the last report, never the DSN.
        sentry: platform.errorReports ? { configured: true, transport: platform.errorReports.transportStatus() } : { configured: false },
        otel: platform.tracing ? { configured: true, exporter: platform.tracing.exporterStatus() } : { configured: false },
      },
    }),
    isShuttingDown: runtime.isShuttingDown,
    version: packageVersion,
    startedAt: Date.now(),
  });
  // Operators get the whole report on the internal port, whatever the public one tells.
  runtime.internal.serveJson('/readiness', () => readiness.report('full'));
  registerWorkerCensusMetrics(metrics, platform.db);
  const pressure = pressureGauge({ maxEventLoopDelayMs: config.loadShedMaxEventLoopDelayMs, maxHeapUsedBytes: config.loadShedMaxHeapUsedBytes });
  const rateLimits = config.rateLimitEnabled ? rateLimitPlugin(config, metrics, platform.redis) : undefined;
  const app = await buildHttpServer({
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
    outages: [databaseOutage],
    onServerError: platform.errorReports && reportServerErrors(platform.errorReports, platform.tracing),
    docs: config.docsEnabled
      ? { title: 'Rampart API', version: packageVersion, credentials: config.docsUser ? { user: config.docsUser, password: liveSecret(platform.secrets, 'DOCS_PASSWORD', config.docsPassword) } : undefined }
      : undefined,
    staticRoot: join(packageRoot, 'public', 'assets'),
    tracing: platform.tracing && { spans: platform.tracing.httpSpans, traceIdsOf: platform.tracing.requestTraceIds },
    routes: [
      ...(rateLimits ? [rateLimits] : []),
      (instance) => healthRoutes(instance, { readiness, detail: publicReadinessDetail(config.readinessDetail, config.env === 'production') }),
      ...features.flatMap((feature) => feature.routes ?? []),
    ],
  });
  try {
    await app.listen({ port: config.port, host: config.host });
    pressure.start();
  } catch (err) {
    pressure.stop();
    await app.close();
    throw err;
  }
  return { app, pressure };
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
