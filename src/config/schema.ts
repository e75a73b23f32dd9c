// The one source of configuration: every environment variable Rampart reads, its type,
// default and meaning. The README table is generated from this list (`rampart config
// --markdown`) and a test fails when the two drift apart.

import { DEFAULT_DATA_DIR } from './data-dir.js';

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
  dataDir: field({ env: 'RAMPART_DATA_DIR', kind: 'string', default: DEFAULT_DATA_DIR, description: 'Directory for embedded data: PGlite database, generated development secrets, documents of the `local` storage driver (`objects/`).' }),
  logLevel: field({ env: 'LOG_LEVEL', kind: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info', description: 'pino log level.' }),

  databaseUrl: field({ env: 'DATABASE_URL', kind: 'url', secret: true, description: 'PostgreSQL URL (`postgres://…`, `sslmode=verify-full` supported). Unset: embedded PGlite under `RAMPART_DATA_DIR`.' }),
  databasePoolMax: field({ env: 'DATABASE_POOL_MAX', kind: 'int', default: 20, min: 1, max: 1000, description: 'Maximum connections in the pool.' }),
  databaseIdleTimeoutMs: field({ env: 'DATABASE_IDLE_TIMEOUT_MS', kind: 'int', default: 30_000, min: 0, description: 'Close a pooled connection idle for this long.' }),
  databasePassword: field({ env: 'DATABASE_PASSWORD', kind: 'string', secret: true, description: 'PostgreSQL password, kept out of `DATABASE_URL` so it can rotate: every new connection reads the current value from the secrets chain (no restart).' }),
  databaseMaxLifetimeS: field({ env: 'DATABASE_MAX_LIFETIME_S', kind: 'int', default: 1_800, min: 0, description: 'Close a pooled connection after this long (seconds), idle or not, so the pool recycles onto a rotated password. 0: never.' }),
  databaseConnectTimeoutMs: field({ env: 'DATABASE_CONNECT_TIMEOUT_MS', kind: 'int', default: 2_000, min: 1, description: 'Give up connecting to PostgreSQL after this long.' }),
  migrateOnStart: field({ env: 'MIGRATE_ON_START', kind: 'bool', description: 'Apply pending migrations when `serve`/`worker` start. Default: on in development, off in production (run `rampart migrate up` in the deploy).' }),

  redisUrl: field({ env: 'REDIS_URL', kind: 'url', secret: true, description: 'Redis URL. Unset: in-process state (single instance only).' }),
  redisSentinels: field({ env: 'REDIS_SENTINELS', kind: 'list', default: [], secret: false, description: 'Comma-separated Sentinel addresses (`host:port`); set to use Sentinel instead of `REDIS_URL` (whose password and `rediss:` still apply).' }),
  redisMasterName: field({ env: 'REDIS_MASTER_NAME', kind: 'string', default: 'mymaster', description: 'Name of the master the Sentinels monitor.' }),
  redisClusterNodes: field({ env: 'REDIS_CLUSTER_NODES', kind: 'list', default: [], secret: false, description: 'Comma-separated Redis Cluster seed nodes (`host:port`); set to use Cluster mode (takes precedence over Sentinel and `REDIS_URL`).' }),
  redisKeyPrefix: field({ env: 'REDIS_KEY_PREFIX', kind: 'string', default: 'rampart:', description: 'Prefix of every Redis key; one per deployment sharing a Redis.' }),
  redisCommandTimeoutMs: field({ env: 'REDIS_COMMAND_TIMEOUT_MS', kind: 'int', default: 50, min: 1, description: 'A Redis command not answered within this long fails (the caller then degrades, e.g. rate limits fail open/closed).' }),

  rateLimitEnabled: field({ env: 'RATE_LIMIT_ENABLED', kind: 'bool', default: true, description: 'Enforce rate limits (shared through Redis when configured, else in-process).' }),
  rateLimitGeneralPerMin: field({ env: 'RATE_LIMIT_GENERAL_PER_MIN', kind: 'int', default: 60, min: 1, description: 'Requests per minute per client IP on routes outside `/v1/`.' }),
  rateLimitApiPerMin: field({ env: 'RATE_LIMIT_API_PER_MIN', kind: 'int', default: 100, min: 1, description: 'Requests per minute per user or API key (else per IP) on `/v1/*`.' }),
  rateLimitAuthPerMin: field({ env: 'RATE_LIMIT_AUTH_PER_MIN', kind: 'int', default: 10, min: 1, description: 'Attempts per minute on sign-in style routes, counted per IP and per account.' }),
  rateLimitContactPerMin: field({ env: 'RATE_LIMIT_CONTACT_PER_MIN', kind: 'int', default: 10, min: 1, description: 'Contact messages (`POST /v1/contact`) per minute per client IP; a budget of its own, apart from sign-in.' }),
  rateLimitGlobalPer5Min: field({ env: 'RATE_LIMIT_GLOBAL_PER_5MIN', kind: 'int', default: 2000, min: 1, description: 'Ceiling per client IP over 5 minutes, across every route.' }),
  rateLimitFailOpenTiers: field({ env: 'RATE_LIMIT_FAIL_OPEN_TIERS', kind: 'list', default: ['general', 'api', 'global'], description: 'Tiers that let requests through when Redis is unavailable; the others (by default `auth` and `contact`) answer 503.' }),
  rateLimitTimeoutMs: field({ env: 'RATE_LIMIT_TIMEOUT_MS', kind: 'int', default: 50, min: 1, description: 'A rate-limit decision not made within this long applies the tier\'s fail mode.' }),

  forceHttps: field({ env: 'FORCE_HTTPS', kind: 'bool', default: false, description: 'Redirect requests that a trusted proxy reports as `http` to https (301 GET/HEAD, 308 otherwise) and send HSTS.' }),
  trustedProxies: field({ env: 'TRUSTED_PROXIES', kind: 'cidrs', default: [], description: 'Comma-separated addresses/CIDRs of proxies whose `X-Forwarded-*` headers are believed. Never "everything".' }),
  corsOrigins: field({ env: 'CORS_ORIGINS', kind: 'list', default: [], description: 'Comma-separated origins allowed by CORS (`https://app.example.com`). Empty: no cross-origin access.' }),

  docsEnabled: field({ env: 'DOCS_ENABLED', kind: 'bool', default: true, description: 'Serve `/docs` and `/openapi.json`.' }),
  docsUser: field({ env: 'DOCS_USER', kind: 'string', description: 'Basic Auth user for `/docs` and `/openapi.json`.' }),
  docsPassword: field({ env: 'DOCS_PASSWORD', kind: 'string', secret: true, description: 'Basic Auth password for `/docs` and `/openapi.json`.' }),

  appSecret: field({ env: 'APP_SECRET', kind: 'string', secret: true, description: 'Master secret (≥ 32 chars). Development generates one into `RAMPART_DATA_DIR/secrets.json` (mode 0600); production requires it.' }),
  fieldEncryptionKeys: field({ env: 'FIELD_ENCRYPTION_KEYS', kind: 'string', secret: true, description: 'Keys for field-level encryption of personal data: `kid:base64url-32-bytes`, comma-separated, newest first. The first encrypts; all decrypt. `rampart secrets rotate field-encryption-key` prepends one. Generated in development; required in production.' }),
  apiKeyPepper: field({ env: 'API_KEY_PEPPER', kind: 'string', secret: true, description: 'Pepper of API key hashes (≥ 32 chars), comma-separated, newest first: the first hashes new keys, older ones still match (and are re-hashed on use). Generated in development; required in production.' }),

  secretsProviders: field({ env: 'SECRETS_PROVIDERS', kind: 'list', default: ['env', 'file'], description: 'Where secrets come from, in order (the first that has a key wins): `env`, `file` (`SECRETS_DIR`), `ssm` (`SSM_PATH`), `secretsmanager` (`SECRETS_MANAGER_IDS`). Development also keeps generated ones in `RAMPART_DATA_DIR/secrets.json`.' }),
  secretsDir: field({ env: 'SECRETS_DIR', kind: 'string', default: '/run/secrets', description: 'Directory of the `file` provider: one file per secret, named by key (`app_secret` or `APP_SECRET`). A missing directory holds no secrets.' }),
  ssmPath: field({ env: 'SSM_PATH', kind: 'string', default: '/rampart/{env}/', description: 'SSM Parameter Store path read recursively with decryption by the `ssm` provider; `{env}` is replaced by `RAMPART_ENV`. `/rampart/production/app_secret` gives APP_SECRET.' }),
  secretsManagerIds: field({ env: 'SECRETS_MANAGER_IDS', kind: 'list', default: [], description: 'Secrets Manager secret names or ARNs read by the `secretsmanager` provider (AWSCURRENT, and AWSPREVIOUS as the previous generation); a JSON object secret gives one key per property.' }),
  secretsRefreshS: field({ env: 'SECRETS_REFRESH_S', kind: 'int', default: 300, min: 0, max: 86_400, description: 'Re-read the secrets chain this often (seconds; SIGHUP does it at once). Changed values take effect without a restart. 0: only on SIGHUP.' }),
  secretsLoadAttempts: field({ env: 'SECRETS_LOAD_ATTEMPTS', kind: 'int', default: 6, min: 1, max: 20, description: 'Attempts per AWS call when it is throttled (exponential backoff with full jitter, 200 ms doubling to at most 5 s).' }),
  secretMaxAgeJwtDays: field({ env: 'SECRET_MAX_AGE_JWT_DAYS', kind: 'int', default: 90, min: 1, description: '`rampart secrets audit`: the JWT signing key is overdue for rotation after this many days.' }),
  secretMaxAgeEncryptionKeyDays: field({ env: 'SECRET_MAX_AGE_ENCRYPTION_KEY_DAYS', kind: 'int', default: 180, min: 1, description: '`rampart secrets audit`: policy for the field-encryption key and APP_SECRET.' }),
  secretMaxAgeApiKeyDays: field({ env: 'SECRET_MAX_AGE_API_KEY_DAYS', kind: 'int', default: 180, min: 1, description: '`rampart secrets audit`: policy for the API key pepper.' }),
  secretMaxAgeDatabasePasswordDays: field({ env: 'SECRET_MAX_AGE_DATABASE_PASSWORD_DAYS', kind: 'int', default: 90, min: 1, description: '`rampart secrets audit`: policy for DATABASE_PASSWORD (and a password inside DATABASE_URL).' }),

  authIssuer: field({ env: 'AUTH_ISSUER', kind: 'string', default: 'rampart', description: 'JWT `iss` of the access tokens Rampart issues, and the only issuer it accepts.' }),
  authAudience: field({ env: 'AUTH_AUDIENCE', kind: 'string', default: 'rampart-api', description: 'JWT `aud` of issued access tokens, and the only audience accepted.' }),
  authAccessTokenTtlS: field({ env: 'AUTH_ACCESS_TOKEN_TTL_S', kind: 'int', default: 900, min: 60, max: 3600, description: 'Access token lifetime (seconds). Revocation is checked on every request regardless.' }),
  authRefreshTokenTtlS: field({ env: 'AUTH_REFRESH_TOKEN_TTL_S', kind: 'int', default: 604_800, min: 300, description: 'Refresh token lifetime (seconds); each rotation starts a new one.' }),
  authRefreshReuseIntervalS: field({ env: 'AUTH_REFRESH_REUSE_INTERVAL_S', kind: 'int', default: 10, min: 0, max: 300, description: 'A refresh token presented again this soon after its rotation returns the same new pair (concurrent tabs) instead of revoking the session. 0 disables.' }),
  authArgon2MemoryKib: field({ env: 'AUTH_ARGON2_MEMORY_KIB', kind: 'int', default: 19_456, min: 1_024, max: 4_194_304, description: 'argon2id memory cost (KiB) for new password hashes; OWASP: 19456. Older hashes are upgraded at login.' }),
  authArgon2TimeCost: field({ env: 'AUTH_ARGON2_TIME_COST', kind: 'int', default: 2, min: 1, max: 20, description: 'argon2id iterations; OWASP: 2 (with 19456 KiB).' }),
  authHashConcurrency: field({ env: 'AUTH_HASH_CONCURRENCY', kind: 'int', min: 1, max: 256, description: 'Password hashes (argon2id, bcrypt) computed at once; the others wait their turn, so a login storm leaves CPU for every other request. Default: CPU cores − 1 (at least 1).' }),
  authArgon2Parallelism: field({ env: 'AUTH_ARGON2_PARALLELISM', kind: 'int', default: 1, min: 1, max: 16, description: 'argon2id lanes; OWASP: 1.' }),
  authThrottleDelayAfter: field({ env: 'AUTH_THROTTLE_DELAY_AFTER', kind: 'int', default: 5, min: 1, max: 1000, description: 'Failed sign-ins, MFA codes or reset tokens per account after which each further attempt must wait (1 s, doubling, at most 60 s): 429 with `Retry-After`.' }),
  authLockoutAfter: field({ env: 'AUTH_LOCKOUT_AFTER', kind: 'int', default: 10, min: 1, max: 10_000, description: 'Failed attempts per account after which it is locked for `AUTH_LOCKOUT_S` (even the right password gets 429). Counters decay 15 min (or `AUTH_LOCKOUT_S`, if longer) after the last failure.' }),
  authLockoutS: field({ env: 'AUTH_LOCKOUT_S', kind: 'int', default: 900, min: 1, max: 86_400, description: 'How long a lockout lasts (seconds).' }),
  authThrottleIpFactor: field({ env: 'AUTH_THROTTLE_IP_FACTOR', kind: 'int', default: 5, min: 1, max: 1000, description: 'Per-client-IP thresholds are the per-account ones times this (many users can share one NAT address).' }),
  apiKeyRotationOverlapS: field({ env: 'API_KEY_ROTATION_OVERLAP_S', kind: 'int', default: 0, min: 0, max: 604_800, description: 'After `POST /v1/api-keys/:id/rotate`, the old key keeps working this long (seconds) so clients can switch over. 0: it dies at once.' }),
  authKeyringRefreshS: field({ env: 'AUTH_KEYRING_REFRESH_S', kind: 'int', default: 30, min: 1, max: 3600, description: 'Every instance re-reads the signing keys this often (seconds), so `rampart secrets rotate jwt-signing-key` takes effect without a restart.' }),
  oidcJwksUrl: field({ env: 'OIDC_JWKS_URL', kind: 'url', description: 'JWKS of an external OpenID Connect provider whose access tokens Rampart accepts (resource-server mode). Set with OIDC_ISSUER and OIDC_AUDIENCE, or none of them.' }),
  oidcIssuer: field({ env: 'OIDC_ISSUER', kind: 'string', description: 'The external provider\'s `iss`, exactly as in its tokens; a Bearer token with this issuer is verified against OIDC_JWKS_URL.' }),
  oidcAudience: field({ env: 'OIDC_AUDIENCE', kind: 'string', description: 'The `aud` external tokens must carry (your API\'s client id or resource identifier).' }),
  oidcTenantClaim: field({ env: 'OIDC_TENANT_CLAIM', kind: 'string', default: 'tid', description: 'Claim (dotted path) holding the Rampart tenant id (a UUID); tokens without it are refused.' }),
  oidcRoleClaim: field({ env: 'OIDC_ROLE_CLAIM', kind: 'string', default: 'roles', description: 'Claim (dotted path, e.g. `realm_access.roles`, `cognito:groups`) whose string or array names admin, member or viewer; the highest wins.' }),
  oidcDefaultRole: field({ env: 'OIDC_DEFAULT_ROLE', kind: 'enum', values: ['admin', 'member', 'viewer'], default: 'viewer', description: 'Role of an external token whose role claim names none of admin, member, viewer.' }),
  oidcJwksCacheS: field({ env: 'OIDC_JWKS_CACHE_S', kind: 'int', default: 600, min: 1, max: 86_400, description: 'How long (seconds) the provider\'s JWKS is used before it is fetched again; an unknown `kid` fetches it sooner (at most every 30 s).' }),
  oidcAlgorithms: field({ env: 'OIDC_ALGORITHMS', kind: 'list', default: ['RS256', 'ES256', 'EdDSA', 'PS256'], description: 'Signature algorithms accepted on external tokens. `none` and HS* are always refused.' }),
  rbacExtraPermissions: field({ env: 'RBAC_EXTRA_PERMISSIONS', kind: 'string', description: 'Permissions added to roles, `role=perm,perm;role=perm` (e.g. `member=reports:read;viewer=reports:read`). Checked at start.' }),

  smtpUrl: field({ env: 'SMTP_URL', kind: 'url', secret: true, description: 'SMTP server for outgoing mail (`smtp://user:pass@host:587`, `smtps://…`). Unset: messages are written as JSON files to `RAMPART_DATA_DIR/outbox`.' }),
  mailFrom: field({ env: 'MAIL_FROM', kind: 'string', default: 'Rampart <no-reply@localhost>', description: 'Sender (`From:`) of outgoing mail, such as password-reset links.' }),
  signupEmailVerification: field({ env: 'SIGNUP_EMAIL_VERIFICATION', kind: 'enum', values: ['required', 'off'], description: 'Sign-up confirms the address first: `required` answers a new and an existing address alike (202) and mails the owner a token or a note; `off` creates the account at once and answers 409 for a taken address, which reveals which addresses have accounts. Default: `required` in production, `off` in development.' }),
  publicBaseUrl: field({ env: 'PUBLIC_BASE_URL', kind: 'url', default: 'http://localhost:8080', description: 'Address users reach Rampart at; links in mail (password reset) start with it. Must be https in production.' }),
  contactInbox: field({ env: 'CONTACT_INBOX', kind: 'string', description: 'Address that receives a mail for each contact message (`POST /v1/contact`), sent by the worker. Unset: messages are stored and listed, nobody is mailed.' }),

  storageDriver: field({ env: 'STORAGE_DRIVER', kind: 'enum', values: ['local', 's3'], default: 'local', description: 'Where uploaded documents are stored: `local` (files under `RAMPART_DATA_DIR/objects`, one instance only) or `s3` (any S3-compatible store; credentials from the default AWS chain).' }),
  s3Bucket: field({ env: 'S3_BUCKET', kind: 'string', description: 'Bucket of the `s3` storage driver; required with it.' }),
  s3Region: field({ env: 'S3_REGION', kind: 'string', description: 'Region of the bucket. Unset: the AWS chain (`AWS_REGION`); one of them is required with `STORAGE_DRIVER=s3`.' }),
  s3Endpoint: field({ env: 'S3_ENDPOINT', kind: 'url', description: 'Endpoint of an S3-compatible store (MinIO, Ceph, R2…). Unset: AWS S3.' }),
  s3ForcePathStyle: field({ env: 'S3_FORCE_PATH_STYLE', kind: 'bool', default: false, description: 'Address the bucket in the path (`https://host/bucket/key`) instead of the host name; most S3-compatible stores need it.' }),
  s3Sse: field({ env: 'S3_SSE', kind: 'enum', values: ['AES256', 'aws:kms'], default: 'AES256', description: 'Server-side encryption requested for every object: S3-managed keys (`AES256`) or KMS (`aws:kms`).' }),
  s3SseKmsKeyId: field({ env: 'S3_SSE_KMS_KEY_ID', kind: 'string', description: 'KMS key id or ARN for `S3_SSE=aws:kms`. Unset: the bucket\'s default KMS key.' }),
  uploadMaxBytes: field({ env: 'UPLOAD_MAX_BYTES', kind: 'int', default: 26_214_400, min: 1, description: 'Largest document accepted by `POST /v1/documents` (bytes); larger gets 413 and nothing is stored. Uploads are streamed, so this bounds storage, not memory; raise `REQUEST_TIMEOUT_MS` with it for slow clients.' }),
  documentsRetentionS: field({ env: 'DOCUMENTS_RETENTION_S', kind: 'int', default: 604_800, min: 0, description: 'A deleted document (row and stored object) is purged this long after its deletion (seconds); until then it is only hidden.' }),
  documentsPurgeSchedule: field({ env: 'DOCUMENTS_PURGE_SCHEDULE', kind: 'string', default: '17 * * * *', description: 'Cron expression (UTC; 5 fields, or 6 with seconds) of the job that purges deleted documents past their retention.' }),
  documentsExtractMaxMemoryMb: field({ env: 'DOCUMENTS_EXTRACT_MAX_MEMORY_MB', kind: 'int', default: 512, min: 128, max: 16_384, description: 'Resident memory (MiB) of the process that parses one PDF or HTML document for search (its V8 heap is capped at the same figure): past it the process is killed and the document is marked `extract_failed`. The memory goes back to the system when the process ends; the worker never holds it.' }),
  documentsExtractMaxDecompressedMb: field({ env: 'DOCUMENTS_EXTRACT_MAX_DECOMPRESSED_MB', kind: 'int', default: 256, min: 1, max: 16_384, description: 'What the compressed (FlateDecode) streams of one PDF may inflate to, all together (MiB), checked before parsing; a PDF past it (a decompression bomb) is marked `extract_failed`.' }),
  documentsExtractMaxPages: field({ env: 'DOCUMENTS_EXTRACT_MAX_PAGES', kind: 'int', default: 2_000, min: 1, max: 1_000_000, description: 'A PDF with more pages is not indexed (marked `extract_failed`; still downloadable and found by name).' }),
  documentsExtractConcurrency: field({ env: 'DOCUMENTS_EXTRACT_CONCURRENCY', kind: 'int', default: 2, min: 1, max: 64, description: 'PDF and HTML documents parsed at once per worker process, each in a process of its own of up to `DOCUMENTS_EXTRACT_MAX_MEMORY_MB`; further extraction jobs wait their turn.' }),
  documentsOrphanSweepSchedule: field({ env: 'DOCUMENTS_ORPHAN_SWEEP_SCHEDULE', kind: 'string', default: '43 3 * * *', description: 'Cron expression (UTC) of the job that deletes stored objects no document row points to (left by a crash mid-upload; only `<tenant>/<document>` keys older than an hour). It lists the whole store, so daily by default.' }),

  backupDestination: field({ env: 'BACKUP_DESTINATION', kind: 'string', description: 'Where `rampart backup` and the scheduled backups write: a directory, or `s3://bucket/prefix` (multipart uploads with `S3_SSE`; `S3_REGION`, `S3_ENDPOINT`, `S3_FORCE_PATH_STYLE` apply as for documents). Unset: `RAMPART_DATA_DIR/backups`.' }),
  backupRecipients: field({ env: 'BACKUP_RECIPIENTS', kind: 'list', default: [], description: 'Comma-separated age public keys (`age1…`, from `age-keygen`) every backup is encrypted to; the machine making backups needs no private key. Unset: development generates a key pair into `RAMPART_DATA_DIR/backup-age-key.txt` (0600); production refuses to back up.' }),
  backupIdentity: field({ env: 'BACKUP_IDENTITY', kind: 'string', secret: true, description: 'The age private key (`AGE-SECRET-KEY-1…`) that opens backups, for `rampart backup verify`, `rampart restore` and the scheduled drill. Unset in development: the generated key file.' }),
  backupPitrCipherPass: field({ env: 'BACKUP_PITR_CIPHER_PASS', kind: 'string', secret: true, description: 'Passphrase of the pgBackRest repository (`repo1-cipher-type=aes-256-cbc`) for point-in-time recovery; `rampart backup pitr-config --write DIR` writes it into a 0600 `pgbackrest.conf` and never prints it. Generate one with `openssl rand -base64 48`.' }),
  backupSchedule: field({ env: 'BACKUP_SCHEDULE', kind: 'string', default: '7 * * * *', description: 'Cron expression (UTC) of the worker\'s backup (label `scheduled`), one at a time across all workers; `off` disables it. Needs `DATABASE_URL`.' }),
  backupPruneSchedule: field({ env: 'BACKUP_PRUNE_SCHEDULE', kind: 'string', default: '37 * * * *', description: 'Cron expression (UTC) of the worker\'s retention run (`rampart backup prune`); `off` disables it.' }),
  backupVerifySchedule: field({ env: 'BACKUP_VERIFY_SCHEDULE', kind: 'string', default: '23 4 * * *', description: 'Cron expression (UTC) of the worker\'s restore drill of the latest backup (`rampart backup verify latest`); `off` disables it.' }),
  backupKeepHourlyDays: field({ env: 'BACKUP_KEEP_HOURLY_DAYS', kind: 'int', default: 7, min: 0, max: 3650, description: 'Retention: keep one backup per hour for this many days.' }),
  backupKeepDailyDays: field({ env: 'BACKUP_KEEP_DAILY_DAYS', kind: 'int', default: 30, min: 0, max: 3650, description: 'Retention: keep the last backup of each day (UTC) for this many days.' }),
  backupKeepWeeklyWeeks: field({ env: 'BACKUP_KEEP_WEEKLY_WEEKS', kind: 'int', default: 12, min: 0, max: 520, description: 'Retention: keep the last backup of each ISO week for this many weeks.' }),
  backupKeepMonthlyMonths: field({ env: 'BACKUP_KEEP_MONTHLY_MONTHS', kind: 'int', default: 12, min: 0, max: 1200, description: 'Retention: keep the last backup of each month for this many months.' }),
  backupKeepManualDays: field({ env: 'BACKUP_KEEP_MANUAL_DAYS', kind: 'int', default: 30, min: 0, max: 3650, description: 'Retention: keep `manual` and `pre-deploy` backups this many days. The newest backup that passed its drill is never deleted.' }),
  backupMaxAgeS: field({ env: 'BACKUP_MAX_AGE_S', kind: 'int', default: 7_200, min: 60, description: '`/readiness` reports backups as degraded when the last successful backup is older than this (seconds).' }),
  backupVerifyMaxAgeS: field({ env: 'BACKUP_VERIFY_MAX_AGE_S', kind: 'int', default: 172_800, min: 60, description: '`/readiness` reports backups as degraded when the last successful restore drill is older than this (seconds).' }),

  bodyLimitBytes: field({ env: 'BODY_LIMIT_BYTES', kind: 'int', default: 1_048_576, min: 1, description: 'Largest accepted request body; larger gets 413.' }),
  requestTimeoutMs: field({ env: 'REQUEST_TIMEOUT_MS', kind: 'int', default: 30_000, min: 1, description: 'Whole-request deadline (headers and body) before the server answers 408.' }),
  headersTimeoutMs: field({ env: 'HEADERS_TIMEOUT_MS', kind: 'int', default: 10_000, min: 1, description: 'Time a client has to send its request headers (slowloris guard).' }),
  keepAliveTimeoutMs: field({ env: 'KEEP_ALIVE_TIMEOUT_MS', kind: 'int', default: 5_000, min: 1, description: 'Idle keep-alive connections are closed after this long.' }),
  shutdownGraceMs: field({ env: 'SHUTDOWN_GRACE_MS', kind: 'int', default: 10_000, min: 0, description: 'On SIGTERM/SIGINT, time in-flight requests get to finish before the process exits.' }),
  shutdownDelayMs: field({ env: 'SHUTDOWN_DELAY_MS', kind: 'int', min: 0, max: 600_000, description: 'On SIGTERM, keep serving (readiness 503, `Connection: close` to clients but not to `TRUSTED_PROXIES`) this long before closing the port, so load balancers stop routing first. Default: 5000 in production (cover the time your load balancer takes to notice: Kubernetes endpoint propagation, probe interval × failure threshold), 0 in development.' }),

  workerConcurrency: field({ env: 'WORKER_CONCURRENCY', kind: 'int', default: 8, min: 1, max: 256, description: 'Jobs one worker process runs at once.' }),
  jobPollIntervalMs: field({ env: 'JOB_POLL_INTERVAL_MS', kind: 'int', default: 1_000, min: 10, max: 60_000, description: 'How often an idle worker looks for ready jobs (delayed jobs and retries). New jobs wake workers at once through LISTEN/NOTIFY.' }),
  jobLeaseMs: field({ env: 'JOB_LEASE_MS', kind: 'int', default: 30_000, min: 300, max: 3_600_000, description: 'A running job\'s lease, renewed every third of it: after a worker dies (kill -9) its jobs are retried elsewhere within this time.' }),
  jobRetentionDays: field({ env: 'JOB_RETENTION_DAYS', kind: 'int', default: 7, min: 0, max: 3650, description: 'Completed jobs are deleted after this many days; their idempotency keys can then be used again. Dead-lettered jobs stay until `rampart jobs purge-dlq`.' }),

  loadShedMaxEventLoopDelayMs: field({ env: 'LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS', kind: 'int', default: 1_000, min: 0, description: 'Shed load (503 + `Retry-After`) while event-loop delay exceeds this. 0 disables.' }),
  loadShedMaxHeapUsedBytes: field({ env: 'LOAD_SHED_MAX_HEAP_USED_BYTES', kind: 'int', default: 0, min: 0, description: 'Shed load while V8 heap used exceeds this. 0 disables.' }),
  loadShedRetryAfterS: field({ env: 'LOAD_SHED_RETRY_AFTER_S', kind: 'int', default: 10, min: 1, description: '`Retry-After` seconds sent with a shed request.' }),

  readinessDetail: field({ env: 'READINESS_DETAIL', kind: 'enum', values: ['full', 'minimal'], description: 'What the public `/readiness` tells: `minimal` (overall status and whether each dependency is ok: what a load balancer needs) or `full` (details, workers, observability, version). The internal `METRICS_PORT` always serves the full report at `/readiness`. Default: minimal in production, full in development.' }),
  sentryDsn: field({ env: 'SENTRY_DSN', kind: 'url', secret: true, description: 'Sentry (or Sentry-protocol) DSN, `https://PUBLIC_KEY@HOST/PROJECT_ID`: unhandled errors, 5xx answers and dead jobs are reported there, scrubbed of bodies, credentials and secret values. A rotated value takes effect without a restart. Unset: no Sentry SDK is loaded.' }),
  rampartRelease: field({ env: 'RAMPART_RELEASE', kind: 'string', description: '`release` of error reports and the release `rampart release` creates. Default: the git commit the build was made from.' }),
  sentryAuthToken: field({ env: 'SENTRY_AUTH_TOKEN', kind: 'string', secret: true, description: '`rampart release` only: a Sentry auth token with `project:releases` to create the release and upload the source maps. Unset: the command says what it would do.' }),
  sentryOrg: field({ env: 'SENTRY_ORG', kind: 'string', description: '`rampart release`: the Sentry organization slug.' }),
  sentryProject: field({ env: 'SENTRY_PROJECT', kind: 'string', description: '`rampart release`: the Sentry project slug.' }),
  sentryUrl: field({ env: 'SENTRY_URL', kind: 'url', default: 'https://sentry.io/', description: '`rampart release`: the Sentry server (a self-hosted one, or a region such as `https://de.sentry.io/`).' }),
  otelEndpoint: field({ env: 'OTEL_EXPORTER_OTLP_ENDPOINT', kind: 'url', description: 'OTLP/HTTP endpoint of an OpenTelemetry collector (`http://collector:4318`); traces go to `<endpoint>/v1/traces`. Unset, with no traces endpoint either: tracing is off and no OpenTelemetry SDK is loaded.' }),
  otelTracesEndpoint: field({ env: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', kind: 'url', description: 'Full OTLP/HTTP traces URL (`http://collector:4318/v1/traces`); wins over `OTEL_EXPORTER_OTLP_ENDPOINT`.' }),
  otelServiceName: field({ env: 'OTEL_SERVICE_NAME', kind: 'string', description: '`service.name` of the spans. Default: `rampart-web` for `serve` (with or without the worker), `rampart-worker` for `worker`.' }),
  otelTracesSampler: field({ env: 'OTEL_TRACES_SAMPLER', kind: 'enum', values: ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'], default: 'parentbased_always_on', description: 'Which traces are recorded. `parentbased_traceidratio` with `OTEL_TRACES_SAMPLER_ARG=0.1` keeps 10 % of new traces and follows the caller\'s decision for continued ones.' }),
  otelTracesSamplerArg: field({ env: 'OTEL_TRACES_SAMPLER_ARG', kind: 'string', default: '1', description: 'Ratio (0–1) of the `*traceidratio` samplers.' }),
  otelBspMaxQueueSize: field({ env: 'OTEL_BSP_MAX_QUEUE_SIZE', kind: 'int', default: 2048, min: 1, max: 1_000_000, description: 'Finished spans waiting for export; while the collector is slow or down, further spans are dropped (counted in `otel_spans_dropped_total`) and requests never wait.' }),
  otelBspScheduleDelayMs: field({ env: 'OTEL_BSP_SCHEDULE_DELAY', kind: 'int', default: 5_000, min: 10, max: 600_000, description: 'Finished spans are sent at least this often (milliseconds), in batches of up to 512.' }),
  otelExporterTimeoutMs: field({ env: 'OTEL_EXPORTER_OTLP_TIMEOUT', kind: 'int', default: 10_000, min: 100, max: 120_000, description: 'An export taking longer (milliseconds) is abandoned and its spans counted as dropped.' }),
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

/** Env names of the schema's secret fields: what the secrets providers may supply. */
export const SECRET_KEYS: ReadonlySet<string> = new Set(
  (Object.values(configSchema) as Field[]).filter((f) => f.secret).map((f) => f.env),
);
