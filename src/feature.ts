// The one shape every capability takes. main.ts starts the platform, then each feature in
// the order of its list, and gathers what they contribute; a new capability adds a line there.
import type { FastifyPluginAsync } from 'fastify';
import type { Kysely } from 'kysely';
import type { Config } from './config/schema.js';
import type { FieldKeyring } from './platform/crypto/field-keyring.js';
import type { ErrorReports } from './platform/error-reports/error-reports.js';
import type { Tables } from './platform/db/tables.js';
import type { DependencyCheck } from './platform/health/readiness.js';
import type { ScheduledJob } from './platform/leader/scheduler.js';
import type { Logger } from './platform/log/logger.js';
import type { Mailer } from './platform/mail/mailer.js';
import type { Metrics } from './platform/metrics/registry.js';
import type { JobDefinition, JobQueue } from './platform/queue/job-types.js';
import type { RedisConnection } from './platform/redis/redis-connection.js';
import type { SecretStore } from './platform/secrets/secret-store.js';
import type { ObjectStorage } from './platform/storage/object-storage.js';
import type { OutgoingObserver } from './platform/outgoing/outgoing-calls.js';
import type { Tracing } from './platform/tracing/tracing.js';

/** What the platform hands every feature: built once per process, shared, closed by main.ts. */
export interface Platform {
  config: Config;
  logger: Logger;
  db: Kysely<Tables>;
  /** Enqueue jobs; pass a transaction to make the job part of a data change. */
  queue: JobQueue;
  storage: ObjectStorage;
  mailer: Mailer;
  /** FIELD_ENCRYPTION_KEYS, swapped in place on rotation. */
  fieldKeys: FieldKeyring;
  metrics: Metrics;
  secrets: SecretStore;
  /** The shared Redis connection (web processes with REDIS_URL or Sentinel/Cluster set). */
  redis: RedisConnection | undefined;
  /** Set when an OTLP endpoint is configured: spans for work a feature wants to show in traces. */
  tracing: Tracing | undefined;
  /** Set with tracing: hand it to a client a feature builds itself (an S3 client), and its calls become spans. */
  outgoingCalls: OutgoingObserver | undefined;
  /** Set when SENTRY_DSN is configured: report an error a feature caught but an operator must see. */
  errorReports: ErrorReports | undefined;
  /** What this process runs: the HTTP server, the job worker, or both (`npm start`). */
  roles: { web: boolean; worker: boolean };
}

/** What one feature contributes to a running process; every part is optional. */
export interface Feature {
  /** Route plugins, registered in order after the platform's own (web processes only). */
  routes?: FastifyPluginAsync[];
  /** Job types; the queue needs their policies everywhere, the worker runs them. */
  jobs?: JobDefinition[];
  /** Work the elected leader runs on a fixed interval (one run per tick across all processes). */
  schedules?: ScheduledJob[];
  /** Entries of `/readiness`. */
  readiness?: DependencyCheck[];
  /** Series read at scrape time, registered once the feature is started. */
  metrics?(metrics: Metrics): void;
  /** Secrets that changed on refresh or SIGHUP (names only), after redaction has learnt them. */
  onSecretsChange?(changed: readonly string[]): void | Promise<void>;
  /** Called on stop, in reverse order of start, after the server and the worker have drained. */
  close?(): Promise<void>;
}

export interface FeatureDefinition {
  /** Names the feature in logs and errors. */
  name: string;
  start(platform: Platform): Feature | Promise<Feature>;
}

/** Declares a feature; the identity function keeps the literal shape checked at the definition. */
export const defineFeature = (definition: FeatureDefinition): FeatureDefinition => definition;
