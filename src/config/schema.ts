// The one source of configuration: every environment variable Rampart reads, its type,
// default and meaning. The README table is generated from this list (`rampart config
// --markdown`) and a test fails when the two drift apart.

type Parsed<K> = K extends 'int'
  ? number
  : K extends 'bool'
    ? boolean
    : K extends 'list' | 'cidrs'
      ? string[]
      : string;

export interface Field<K extends FieldKind = FieldKind> {
  env: string;
  kind: K;
  description: string;
  default?: Parsed<K>;
  /** Allowed values for `kind: 'enum'`. */
  values?: readonly string[];
  min?: number;
  max?: number;
  /** Secret values are redacted from logs, errors, metrics and health output. */
  secret?: boolean;
}

export type FieldKind = 'int' | 'bool' | 'string' | 'enum' | 'list' | 'cidrs' | 'url';

// Keeps each entry's literal shape (its kind, whether it has a default) for the Config type.
const field = <const F extends Field>(f: F): F => f;

export const configSchema = {
  env: field({ env: 'RAMPART_ENV', kind: 'enum', values: ['development', 'production'], default: 'development', description: 'Mode. `production` refuses to start on unsafe settings.' }),
  port: field({ env: 'PORT', kind: 'int', default: 8080, min: 0, max: 65535, description: 'Public HTTP port.' }),
  host: field({ env: 'HOST', kind: 'string', default: '127.0.0.1', description: 'Address the public and metrics ports bind to (`0.0.0.0` in containers).' }),
  metricsPort: field({ env: 'METRICS_PORT', kind: 'int', default: 9464, min: 0, max: 65535, description: 'Internal port serving `/metrics` (Prometheus) and `/health`; never exposed publicly.' }),
  dataDir: field({ env: 'RAMPART_DATA_DIR', kind: 'string', default: './.rampart', description: 'Directory for embedded data: PGlite database, generated development secrets.' }),
  logLevel: field({ env: 'LOG_LEVEL', kind: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info', description: 'pino log level.' }),

  databaseUrl: field({ env: 'DATABASE_URL', kind: 'url', secret: true, description: 'PostgreSQL URL (`postgres://…`, `sslmode=verify-full` supported). Unset: embedded PGlite under `RAMPART_DATA_DIR`.' }),
  databasePoolMax: field({ env: 'DATABASE_POOL_MAX', kind: 'int', default: 20, min: 1, max: 1000, description: 'Maximum connections in the pool.' }),
  databaseIdleTimeoutMs: field({ env: 'DATABASE_IDLE_TIMEOUT_MS', kind: 'int', default: 30_000, min: 0, description: 'Close a pooled connection idle for this long.' }),
  databaseConnectTimeoutMs: field({ env: 'DATABASE_CONNECT_TIMEOUT_MS', kind: 'int', default: 2_000, min: 1, description: 'Give up connecting to PostgreSQL after this long.' }),
  migrateOnStart: field({ env: 'MIGRATE_ON_START', kind: 'bool', description: 'Apply pending migrations when `serve`/`worker` start. Default: on in development, off in production (run `rampart migrate up` in the deploy).' }),

  redisUrl: field({ env: 'REDIS_URL', kind: 'url', secret: true, description: 'Redis URL. Unset: in-process state (single instance only).' }),

  forceHttps: field({ env: 'FORCE_HTTPS', kind: 'bool', default: false, description: 'Redirect requests that a trusted proxy reports as `http` to https (301 GET/HEAD, 308 otherwise) and send HSTS.' }),
  trustedProxies: field({ env: 'TRUSTED_PROXIES', kind: 'cidrs', default: [], description: 'Comma-separated addresses/CIDRs of proxies whose `X-Forwarded-*` headers are believed. Never "everything".' }),
  corsOrigins: field({ env: 'CORS_ORIGINS', kind: 'list', default: [], description: 'Comma-separated origins allowed by CORS (`https://app.example.com`). Empty: no cross-origin access.' }),

  docsEnabled: field({ env: 'DOCS_ENABLED', kind: 'bool', default: true, description: 'Serve `/docs` and `/openapi.json`.' }),
  docsUser: field({ env: 'DOCS_USER', kind: 'string', description: 'Basic Auth user for `/docs` and `/openapi.json`.' }),
  docsPassword: field({ env: 'DOCS_PASSWORD', kind: 'string', secret: true, description: 'Basic Auth password for `/docs` and `/openapi.json`.' }),

  appSecret: field({ env: 'APP_SECRET', kind: 'string', secret: true, description: 'Master secret (≥ 32 chars). Development generates one into `RAMPART_DATA_DIR/secrets.json` (mode 0600); production requires it.' }),

  authIssuer: field({ env: 'AUTH_ISSUER', kind: 'string', default: 'rampart', description: 'JWT `iss` of the access tokens Rampart issues, and the only issuer it accepts.' }),
  authAudience: field({ env: 'AUTH_AUDIENCE', kind: 'string', default: 'rampart-api', description: 'JWT `aud` of issued access tokens, and the only audience accepted.' }),
  authAccessTokenTtlS: field({ env: 'AUTH_ACCESS_TOKEN_TTL_S', kind: 'int', default: 900, min: 60, max: 3600, description: 'Access token lifetime (seconds). Revocation is checked on every request regardless.' }),
  authRefreshTokenTtlS: field({ env: 'AUTH_REFRESH_TOKEN_TTL_S', kind: 'int', default: 604_800, min: 300, description: 'Refresh token lifetime (seconds); each rotation starts a new one.' }),
  authRefreshReuseIntervalS: field({ env: 'AUTH_REFRESH_REUSE_INTERVAL_S', kind: 'int', default: 10, min: 0, max: 300, description: 'A refresh token presented again this soon after its rotation returns the same new pair (concurrent tabs) instead of revoking the session. 0 disables.' }),
  authArgon2MemoryKib: field({ env: 'AUTH_ARGON2_MEMORY_KIB', kind: 'int', default: 19_456, min: 1_024, max: 4_194_304, description: 'argon2id memory cost (KiB) for new password hashes; OWASP: 19456. Older hashes are upgraded at login.' }),
  authArgon2TimeCost: field({ env: 'AUTH_ARGON2_TIME_COST', kind: 'int', default: 2, min: 1, max: 20, description: 'argon2id iterations; OWASP: 2 (with 19456 KiB).' }),
  authArgon2Parallelism: field({ env: 'AUTH_ARGON2_PARALLELISM', kind: 'int', default: 1, min: 1, max: 16, description: 'argon2id lanes; OWASP: 1.' }),
  apiKeyRotationOverlapS: field({ env: 'API_KEY_ROTATION_OVERLAP_S', kind: 'int', default: 0, min: 0, max: 604_800, description: 'After `POST /v1/api-keys/:id/rotate`, the old key keeps working this long (seconds) so clients can switch over. 0: it dies at once.' }),

  smtpUrl: field({ env: 'SMTP_URL', kind: 'url', secret: true, description: 'SMTP server for outgoing mail (`smtp://user:pass@host:587`, `smtps://…`). Unset: messages are written as JSON files to `RAMPART_DATA_DIR/outbox`.' }),
  mailFrom: field({ env: 'MAIL_FROM', kind: 'string', default: 'Rampart <no-reply@localhost>', description: 'Sender (`From:`) of outgoing mail, such as password-reset links.' }),
  publicBaseUrl: field({ env: 'PUBLIC_BASE_URL', kind: 'url', default: 'http://localhost:8080', description: 'Address users reach Rampart at; links in mail (password reset) start with it.' }),

  bodyLimitBytes: field({ env: 'BODY_LIMIT_BYTES', kind: 'int', default: 1_048_576, min: 1, description: 'Largest accepted request body; larger gets 413.' }),
  requestTimeoutMs: field({ env: 'REQUEST_TIMEOUT_MS', kind: 'int', default: 30_000, min: 1, description: 'Whole-request deadline (headers and body) before the server answers 408.' }),
  headersTimeoutMs: field({ env: 'HEADERS_TIMEOUT_MS', kind: 'int', default: 10_000, min: 1, description: 'Time a client has to send its request headers (slowloris guard).' }),
  keepAliveTimeoutMs: field({ env: 'KEEP_ALIVE_TIMEOUT_MS', kind: 'int', default: 5_000, min: 1, description: 'Idle keep-alive connections are closed after this long.' }),
  shutdownGraceMs: field({ env: 'SHUTDOWN_GRACE_MS', kind: 'int', default: 10_000, min: 0, description: 'On SIGTERM/SIGINT, time in-flight requests get to finish before the process exits.' }),
  shutdownDelayMs: field({ env: 'SHUTDOWN_DELAY_MS', kind: 'int', default: 0, min: 0, description: 'On SIGTERM, keep serving (readiness 503) this long before closing the port, so load balancers stop routing first.' }),

  loadShedMaxEventLoopDelayMs: field({ env: 'LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS', kind: 'int', default: 1_000, min: 0, description: 'Shed load (503 + `Retry-After`) while event-loop delay exceeds this. 0 disables.' }),
  loadShedMaxHeapUsedBytes: field({ env: 'LOAD_SHED_MAX_HEAP_USED_BYTES', kind: 'int', default: 0, min: 0, description: 'Shed load while V8 heap used exceeds this. 0 disables.' }),
  loadShedRetryAfterS: field({ env: 'LOAD_SHED_RETRY_AFTER_S', kind: 'int', default: 10, min: 1, description: '`Retry-After` seconds sent with a shed request.' }),

  sentryDsn: field({ env: 'SENTRY_DSN', kind: 'url', secret: true, description: 'Sentry DSN for error reporting (reported as configured in `/readiness`).' }),
  otelEndpoint: field({ env: 'OTEL_EXPORTER_OTLP_ENDPOINT', kind: 'url', description: 'OTLP endpoint for traces (reported as configured in `/readiness`).' }),
} as const;

export type ConfigSchema = typeof configSchema;

type ValueOf<F> = F extends { kind: infer K } ? Parsed<K> : never;

export type Config = {
  readonly [N in keyof ConfigSchema]: ConfigSchema[N] extends { default: unknown }
    ? ValueOf<ConfigSchema[N]>
    : ValueOf<ConfigSchema[N]> | undefined;
} & {
  /** Names of values that were generated (development only); production refuses them. */
  readonly generatedSecrets: readonly string[];
};
