// The platform half of a process: logging, secrets, database, queue, storage, mail, Redis
// and metrics, built once and handed to every feature. Wiring between platform folders,
// so it sits under src/wiring, not in one of them.
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { unsafeSettings } from '../config/production-guard.js';
import type { Platform } from '../feature.js';
import { deriveFallbackFieldKeys } from '../features/auth/email-protection.js';
import { createFieldKeyring } from '../platform/crypto/field-keyring.js';
import { openDatabase, type DatabaseHandle } from '../platform/db/database.js';
import { migrateUp } from '../platform/db/migrations.js';
import { migratedTemplateDir } from '../platform/db/template-paths.js';
import { createLogging, type Logging } from '../platform/log/logger.js';
import { createMailer } from '../platform/mail/create-mailer.js';
import { createMetrics } from '../platform/metrics/registry.js';
import { createJobQueue } from '../platform/queue/job-queue.js';
import type { JobDefinition } from '../platform/queue/job-types.js';
import { createRedisConnection, redisConfigured } from '../platform/redis/redis-connection.js';
import { createSecretStore, type SecretStore } from '../platform/secrets/secret-store.js';
import type { OutgoingObserver } from '../platform/outgoing/outgoing-calls.js';
import { createObjectStorage, type StorageSettings } from '../platform/storage/create-storage.js';
import { queryDurationObserver, registerDatabaseMetrics, registerProcessMetrics, registerRedisMetrics } from './platform-metrics.js';
import { FLUSH_ON_EXIT_MS, reportUncaughtErrors, startErrorReportsIfConfigured } from './error-reports.js';
import { commandSpans, observeBoth, outgoingSpans, querySpans, registerTracingMetrics, startTracingIfConfigured, traceLogFields } from './tracing.js';
import { liveSecret, redactRotatedSecrets, rotateFieldKeysLive, secretsOf } from '../secrets-wiring.js';

export interface RunningPlatform {
  platform: Platform;
  logging: Logging;
  database: DatabaseHandle;
  /** Every job type of the process; features fill it before the worker starts (the queue reads policies from it). */
  jobDefinitions: JobDefinition[];
  /** Closes what the platform opened, in order. */
  close(): Promise<void>;
}

/** Opens the platform. On failure, whatever was opened is closed again before the error propagates. */
export async function openPlatform(config: Config, roles: Platform['roles'], loadedSecrets: SecretStore | undefined): Promise<RunningPlatform> {
  const secrets = loadedSecrets ?? createSecretStore([]);
  const secretConfig = secretsOf(config);
  const tracing = await startTracingIfConfigured(config, roles);
  const logging = createLogging({ level: config.logLevel, secretKeys: secretConfig.keys, secretValues: secretConfig.values, mixin: tracing && traceLogFields(tracing) });
  const { logger } = logging;
  redactRotatedSecrets(secrets, logging.redactor, logger);
  const errorReports = await startErrorReportsIfConfigured(config, secrets, logging);
  const stopReportingUncaught = errorReports && reportUncaughtErrors(errorReports, logging, tracing);
  const stopErrorReports = async () => {
    stopReportingUncaught?.();
    await errorReports?.close(FLUSH_ON_EXIT_MS);
  };
  for (const problem of unsafeSettings(config)) logger.warn(`unsafe for production: ${problem}`);

  // Personal data (email addresses) is encrypted with these; a rotation swaps them live.
  const fieldKeys = createFieldKeyring(config.fieldEncryptionKeys ?? deriveFallbackFieldKeys(config.appSecret ?? ''));
  rotateFieldKeysLive(secrets, fieldKeys, logger);

  const metrics = createMetrics();
  const migrateOnStart = config.migrateOnStart ?? config.env === 'development';
  const database = await openDatabase({
    url: config.databaseUrl,
    password: () => secrets.get('DATABASE_PASSWORD') ?? config.databasePassword,
    // Secrets Manager's AWSPREVIOUS: a rotation may stage the new password before ALTER ROLE.
    previousPassword: () => secrets.previous('DATABASE_PASSWORD')?.value,
    // A refused password may be one rotated a moment ago: re-read the chain, then retry.
    onAuthenticationFailure: async () => void (await secrets.refresh()),
    dataDir: config.dataDir,
    poolMax: config.databasePoolMax,
    idleTimeoutMs: config.databaseIdleTimeoutMs,
    maxLifetimeS: config.databaseMaxLifetimeS,
    connectTimeoutMs: config.databaseConnectTimeoutMs,
    // A first embedded start copies a cluster with the migrations already applied.
    seedTemplate: migrateOnStart ? migratedTemplateDir() : undefined,
    logger,
    observeQuery: observeBoth(queryDurationObserver(metrics), tracing && querySpans(tracing, 'postgresql')),
  }).catch(async (err: unknown) => {
    await stopErrorReports();
    throw err;
  });
  // Spans and error reports are flushed last: closing work is traced and reported too.
  const closers: Array<() => Promise<void>> = [
    async () => secrets.stop(),
    () => database.close(),
    async () => tracing?.shutdown(),
    stopErrorReports,
  ];
  const close = async () => {
    for (const closer of closers) await closer().catch((err: unknown) => logger.warn({ err }, 'error while closing'));
  };
  if (config.secretsRefreshS > 0) secrets.startRefreshing(config.secretsRefreshS * 1000);
  try {
    if (migrateOnStart) {
      const { applied } = await migrateUp(database);
      if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    }
    registerDatabaseMetrics(metrics, database, config.databasePoolMax);
    registerProcessMetrics(metrics, secrets);
    if (tracing) registerTracingMetrics(metrics, tracing);

    // The queue needs the definitions for their policies (attempts, priority) and the
    // definitions need the queue (a job may enqueue another), hence the late binding.
    const jobDefinitions: JobDefinition[] = [];
    const queue = createJobQueue({ definitions: jobDefinitions, traceparent: tracing?.currentTraceparent });
    const observeCalls = tracing && outgoingSpans(tracing);
    const storage = await createObjectStorage(storageSettings(config, observeCalls));
    const mailer = createMailer({ smtpUrl: liveSecret(secrets, 'SMTP_URL', config.smtpUrl), outboxDirectory: join(config.dataDir, 'outbox'), from: config.mailFrom, observe: observeCalls });
    const redisSettings = {
      url: config.redisUrl,
      sentinels: config.redisSentinels,
      masterName: config.redisMasterName,
      clusterNodes: config.redisClusterNodes,
      commandTimeoutMs: config.redisCommandTimeoutMs,
      connectTimeoutMs: config.databaseConnectTimeoutMs,
    };
    // Only the web process shares state through Redis (limits, revocations, cache).
    const redis = roles.web && redisConfigured(redisSettings) ? createRedisConnection(redisSettings) : undefined;
    if (redis) {
      closers.unshift(() => redis.close());
      registerRedisMetrics(metrics, redis, tracing && commandSpans(tracing));
    }

    const platform: Platform = { config, logger, db: database.db, queue, storage, mailer, fieldKeys, metrics, secrets, redis, tracing, outgoingCalls: observeCalls, errorReports, roles };
    return { platform, logging, database, jobDefinitions, close };
  } catch (err) {
    await close();
    throw err;
  }
}

function storageSettings(config: Config, observe: OutgoingObserver | undefined): StorageSettings {
  if (config.storageDriver === 'local') return { driver: 'local', dataDir: config.dataDir };
  return {
    driver: 's3',
    // loadConfig refuses STORAGE_DRIVER=s3 without a bucket.
    bucket: config.s3Bucket ?? '',
    region: config.s3Region,
    endpoint: config.s3Endpoint,
    forcePathStyle: config.s3ForcePathStyle,
    encryption: { algorithm: config.s3Sse as 'AES256' | 'aws:kms', kmsKeyId: config.s3SseKmsKeyId },
    observe,
  };
}
