import type { UnsafeSetting } from '../../config/production-guard.js';
import type { Config } from '../../config/schema.js';
import { publicReadinessDetail } from '../../platform/health/readiness-report.js';
import type { SecretAge } from '../secrets/secret-ages.js';
import { DOCS, type DocsLink, type Finding } from './finding.js';

// Where each production-guard rule is explained; a rule added later still links somewhere true.
const GUARD_DOCS: Record<string, DocsLink> = {
  'https-not-enforced': DOCS.httpBehaviour,
  'cors-wildcard': DOCS.httpBehaviour,
  'docs-public': DOCS.httpBehaviour,
  'public-url-not-https': DOCS.configuration,
  'password-hashing-weak': DOCS.configuration,
};

/**
 * What production would refuse, as findings: each unsafe setting is critical, whatever
 * RAMPART_ENV says (a development configuration is not ready to go live either).
 */
export function productionGuardFindings(config: Config, unsafe: readonly UnsafeSetting[]): Finding[] {
  const findings: Finding[] = [];
  if (config.env !== 'production') {
    findings.push({ id: 'not-production', severity: 'critical', message: `RAMPART_ENV is ${config.env}: unsafe settings only warn, and development defaults apply`, fix: 'set RAMPART_ENV=production where Rampart serves users', docs: DOCS.operations });
  }
  for (const setting of unsafe) {
    findings.push({ id: setting.id, severity: 'critical', message: setting.problem, fix: setting.fix, docs: GUARD_DOCS[setting.id] ?? (setting.id.startsWith('secret-missing-') ? DOCS.secrets : DOCS.operations) });
  }
  return findings;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);
const ALL_INTERFACES = new Set(['0.0.0.0', '::']);

/** Settings the guard lets through that still matter before going live. */
export function settingFindings(config: Config): Finding[] {
  const production = config.env === 'production';
  const findings: Finding[] = [];
  if (config.metricsPort === config.port && config.port !== 0) {
    findings.push({ id: 'metrics-port-public', severity: 'critical', message: `METRICS_PORT equals PORT (${config.port}): /metrics has no internal port of its own`, fix: 'give METRICS_PORT its own port (default 9464) that only Prometheus can reach', docs: DOCS.operations });
  }
  if (ALL_INTERFACES.has(config.host)) {
    findings.push({ id: 'metrics-port-on-all-interfaces', severity: 'info', message: `HOST is ${config.host}: METRICS_PORT (${config.metricsPort}) listens on every interface too`, fix: 'let only Prometheus reach METRICS_PORT (firewall, security group, NetworkPolicy)', docs: DOCS.operations });
  } else if (production && LOOPBACK.has(config.host)) {
    findings.push({ id: 'host-loopback', severity: 'info', message: `HOST is ${config.host}: only a proxy on this machine can reach Rampart`, fix: 'right behind a local proxy; in a container set HOST=0.0.0.0', docs: DOCS.configuration });
  }
  if (publicReadinessDetail(config.readinessDetail, production) === 'full') {
    findings.push({ id: 'readiness-detail-public', severity: 'warning', message: 'the public /readiness gives the full report (versions, workers, dependency details)', fix: 'unset READINESS_DETAIL in production (minimal); the full report stays on METRICS_PORT', docs: DOCS.operations });
  }
  if (config.forceHttps && config.trustedProxies.length === 0) {
    findings.push({ id: 'trusted-proxies-empty', severity: 'warning', message: 'FORCE_HTTPS is on but TRUSTED_PROXIES is empty: no request is seen as plain http, so none is redirected, and client IPs are the proxy\'s', fix: 'list the proxy\'s address or subnet in TRUSTED_PROXIES', docs: DOCS.httpBehaviour });
  }
  if (!config.rateLimitEnabled) {
    findings.push({ id: 'rate-limits-off', severity: 'warning', message: 'RATE_LIMIT_ENABLED=false: no tier (general, API, auth) is enforced by Rampart', fix: 'unset RATE_LIMIT_ENABLED, unless the proxy enforces every tier', docs: DOCS.rateLimits });
  }
  if (config.redisUrl === undefined && config.redisSentinels.length === 0 && config.redisClusterNodes.length === 0) {
    findings.push({ id: 'redis-missing', severity: production ? 'warning' : 'info', message: 'no Redis: rate limits, revocation fan-out and caches are per instance', fix: 'set REDIS_URL (or REDIS_SENTINELS / REDIS_CLUSTER_NODES) to run more than one instance', docs: DOCS.severalInstances });
  }
  if (production && config.storageDriver === 'local') {
    findings.push({ id: 'storage-local', severity: 'warning', message: 'STORAGE_DRIVER=local: documents live on this machine\'s disk, for one instance only', fix: 'set STORAGE_DRIVER=s3 with S3_BUCKET', docs: DOCS.storage });
  }
  const databaseTls = databaseTlsProblem(config.databaseUrl);
  if (databaseTls) findings.push({ id: 'database-tls-unverified', severity: 'warning', message: databaseTls, fix: 'add sslmode=verify-full&sslrootcert=/path/ca.pem to DATABASE_URL', docs: DOCS.operations });
  if (config.otelEndpoint === undefined && config.otelTracesEndpoint === undefined) {
    findings.push({ id: 'tracing-off', severity: 'warning', message: 'no OTEL_EXPORTER_OTLP_ENDPOINT: requests, queries and jobs are not traced', fix: 'set OTEL_EXPORTER_OTLP_ENDPOINT to your OpenTelemetry collector (http://collector:4318)', docs: DOCS.operations });
  }
  if (config.sentryDsn === undefined) {
    findings.push({ id: 'error-reporting-off', severity: 'warning', message: 'no SENTRY_DSN: errors reach the logs only, nobody is told', fix: 'set SENTRY_DSN (Sentry, or any Sentry-protocol service) through the secrets chain', docs: DOCS.configuration });
  }
  return findings;
}

/** Says only whether the server's certificate is verified: never the URL, which may hold a password. */
function databaseTlsProblem(databaseUrl: string | undefined): string | undefined {
  if (databaseUrl === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    return undefined;
  }
  const host = url.hostname || url.searchParams.get('host') || '';
  // A Unix socket or loopback never crosses a network.
  if (host === '' || host.startsWith('/') || LOOPBACK.has(host.replace(/^\[|\]$/g, ''))) return undefined;
  const mode = url.searchParams.get('sslmode') ?? 'unset';
  return mode === 'verify-full' ? undefined : `DATABASE_URL reaches a remote database without verifying its certificate (sslmode ${mode})`;
}

export interface SecretAuditResult {
  rows: readonly SecretAge[];
  /** Names that could not be checked, and why (a reason code, never a value). */
  unchecked: readonly string[];
  uncheckedBecause?: string | undefined;
  /** Where each secret came from (`env`, `file`, `ssm`…). */
  sources: ReadonlyArray<{ key: string; source: string }>;
}

// `rampart secrets rotate` names for the secrets it can rotate.
const ROTATE_NAMES: Record<string, string> = { 'jwt-signing-key': 'jwt-signing-key', FIELD_ENCRYPTION_KEYS: 'field-encryption-key', API_KEY_PEPPER: 'api-key-pepper' };
const REQUIRED = new Set(['APP_SECRET', 'FIELD_ENCRYPTION_KEYS', 'API_KEY_PEPPER']);

/** `rampart secrets audit`'s verdicts, as findings. */
export function secretFindings(config: Config, audit: SecretAuditResult): Finding[] {
  const findings: Finding[] = [];
  for (const row of audit.rows) {
    if (row.overdue !== true) continue;
    const rotate = ROTATE_NAMES[row.name];
    findings.push({
      id: 'secret-overdue',
      severity: 'warning',
      message: `${row.name} is ${row.age_days} days old (policy: ${row.policy_days} days)`,
      fix: rotate ? `rampart secrets rotate ${rotate}` : `rotate ${row.name} at its provider (${row.source}); running instances pick it up on refresh`,
      docs: DOCS.secrets,
    });
  }
  if (audit.unchecked.length > 0) {
    findings.push({ id: 'secrets-audit-incomplete', severity: 'warning', message: `the age of ${audit.unchecked.join(' and ')} was not checked (${audit.uncheckedBecause ?? 'database unavailable'})`, fix: 'run the audit where the database is reachable (rampart secrets audit)', docs: DOCS.secrets });
  }
  const fromEnvironment = audit.sources.filter((s) => s.source === 'env' && REQUIRED.has(s.key)).map((s) => s.key);
  if (config.env === 'production' && fromEnvironment.length > 0) {
    findings.push({ id: 'secrets-in-environment', severity: 'warning', message: `${fromEnvironment.join(', ')} come from environment variables: rotating them needs a restart, and every child process inherits them`, fix: 'serve them from files (SECRETS_DIR), SSM or Secrets Manager (SECRETS_PROVIDERS)', docs: DOCS.secrets });
  }
  return findings;
}
