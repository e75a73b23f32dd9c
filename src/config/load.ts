import { isIP } from 'node:net';
import { CronExpressionParser } from 'cron-parser';
import { configSchema, type Config, type Field } from './schema.js';
import { sentryDsnProblem } from './sentry-dsn.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

// Typos in our own namespace are caught; other variables belong to the platform and are ignored.
const OWN_PREFIX = 'RAMPART_';

export interface LoadOptions {
  /**
   * `later`: secret fields are left unset and every rule that reads one is skipped, because
   * their values may still come from the secrets chain (a file, SSM, Secrets Manager). The
   * settings the chain itself needs are checked; the full load runs once the chain is read.
   */
  secrets?: 'now' | 'later';
}

/** A check across fields, or on a parsed value; `reads` names what it looks at. */
interface Rule {
  reads: ReadonlyArray<keyof typeof configSchema>;
  problems(values: Record<string, unknown>, env: NodeJS.ProcessEnv): string[];
}

const rules: readonly Rule[] = [
  {
    reads: ['docsUser', 'docsPassword'],
    problems: (values) => [
      ...(values.docsUser !== undefined && values.docsPassword === undefined ? ['DOCS_PASSWORD: required when DOCS_USER is set'] : []),
      ...(values.docsPassword !== undefined && values.docsUser === undefined ? ['DOCS_USER: required when DOCS_PASSWORD is set'] : []),
    ],
  },
  { reads: ['appSecret'], problems: (values) => (typeof values.appSecret === 'string' && values.appSecret.length < 32 ? ['APP_SECRET: must be at least 32 characters'] : []) },
  // One line, one address: it becomes a mail recipient, where a line break would add headers.
  { reads: ['otelEndpoint', 'otelTracesEndpoint'], problems: (values) => (['otelEndpoint', 'otelTracesEndpoint'] as const).flatMap((name) => (typeof values[name] === 'string' && !/^https?:\/\//.test(values[name] as string) ? [`${configSchema[name].env}: expected an http:// or https:// URL (OTLP/HTTP)`] : [])) },
  { reads: ['otelTracesSamplerArg'], problems: (values) => (/^\s*(0(\.\d+)?|1(\.0*)?)\s*$/.test(String(values.otelTracesSamplerArg)) ? [] : ['OTEL_TRACES_SAMPLER_ARG: expected a ratio from 0 to 1 (e.g. 0.1)']) },
  { reads: ['contactInbox'], problems: (values) => (typeof values.contactInbox === 'string' && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(values.contactInbox) ? ['CONTACT_INBOX: expected one email address (name@example.com)'] : []) },
  { reads: ['oidcJwksUrl', 'oidcIssuer', 'oidcAudience', 'oidcAlgorithms'], problems: oidcProblems },
  { reads: ['secretsProviders', 'secretsManagerIds'], problems: secretsProblems },
  { reads: ['fieldEncryptionKeys', 'apiKeyPepper'], problems: secretValueProblems },
  // The SDK would silently drop every report of a malformed DSN; the start is refused instead.
  { reads: ['sentryDsn'], problems: (values) => {
    const problem = typeof values.sentryDsn === 'string' ? sentryDsnProblem(values.sentryDsn) : undefined;
    return problem ? [`SENTRY_DSN: ${problem}`] : [];
  } },
  { reads: ['storageDriver', 's3Bucket', 's3Region', 's3Sse', 's3SseKmsKeyId', 'documentsPurgeSchedule', 'documentsOrphanSweepSchedule'], problems: storageProblems },
];

const isSecret = (name: keyof typeof configSchema) => (configSchema[name] as Field).secret === true;

// Settings an earlier build read under another name: ignoring one silently would drop it.
const RENAMED: Record<string, string> = { BACKUP_AGE_RECIPIENTS: 'BACKUP_RECIPIENTS', BACKUP_AGE_IDENTITY: 'BACKUP_IDENTITY' };

/** Parses and validates the environment into a typed Config, listing every problem at once. */
export function loadConfig(env: NodeJS.ProcessEnv, options: LoadOptions = {}): Omit<Config, 'generatedSecrets'> {
  const deferSecrets = options.secrets === 'later';
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  const known = new Set<string>();

  for (const [name, f] of Object.entries(configSchema) as Array<[string, Field]>) {
    known.add(f.env);
    const raw = deferSecrets && f.secret ? undefined : env[f.env];
    if (raw === undefined || raw.trim() === '') {
      values[name] = f.default;
      continue;
    }
    const parsed = parseField(f, raw.trim());
    if ('error' in parsed) problems.push(`${f.env}: ${parsed.error}`);
    else values[name] = parsed.value;
  }

  for (const name of Object.keys(env)) {
    if (name.startsWith(OWN_PREFIX) && !known.has(name)) {
      problems.push(`${name}: unknown setting (known: ${[...known].filter((k) => k.startsWith(OWN_PREFIX)).join(', ')})`);
    }
  }

  for (const [old, now] of Object.entries(RENAMED)) {
    if (env[old] !== undefined) problems.push(`${old}: renamed ${now}; set that instead`);
  }

  for (const rule of rules) {
    if (deferSecrets && rule.reads.some(isSecret)) continue;
    problems.push(...rule.problems(values, env));
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return values as Omit<Config, 'generatedSecrets'>;
}

const PROVIDERS = ['env', 'file', 'ssm', 'secretsmanager'];

function secretsProblems(values: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const providers = values.secretsProviders as string[];
  const unknown = providers.filter((p) => !PROVIDERS.includes(p));
  if (unknown.length > 0) problems.push(`SECRETS_PROVIDERS: unknown provider ${unknown.join(', ')} (known: ${PROVIDERS.join(', ')})`);
  if (new Set(providers).size !== providers.length) problems.push('SECRETS_PROVIDERS: names a provider twice');
  if (providers.includes('secretsmanager') && (values.secretsManagerIds as string[]).length === 0) problems.push('SECRETS_MANAGER_IDS: required when SECRETS_PROVIDERS includes secretsmanager');
  return problems;
}

function secretValueProblems(values: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (typeof values.fieldEncryptionKeys === 'string') {
    const problem = fieldKeysProblem(values.fieldEncryptionKeys);
    if (problem) problems.push(`FIELD_ENCRYPTION_KEYS: ${problem}`);
  }
  if (typeof values.apiKeyPepper === 'string' && values.apiKeyPepper.split(',').some((p) => p.trim().length < 32)) problems.push('API_KEY_PEPPER: each pepper must be at least 32 characters');
  return problems;
}

// Never quotes the value: only which entry is wrong and why.
function fieldKeysProblem(raw: string): string | undefined {
  const seen = new Set<string>();
  const entries = raw.split(',').map((e) => e.trim());
  for (const [i, entry] of entries.entries()) {
    const [kid, key, extra] = entry.split(':');
    if (!kid || !/^[A-Za-z0-9_-]{1,32}$/.test(kid) || key === undefined || extra !== undefined) return `entry ${i + 1} is not "kid:base64url-key" (kid: letters, digits, - and _)`;
    if (Buffer.from(key, 'base64url').length !== 32) return `key ${kid} is not 32 bytes of base64url`;
    if (seen.has(kid)) return `key id ${kid} appears twice`;
    seen.add(kid);
  }
  return undefined;
}

// A bucket-less or region-less S3 store fails at the first upload; refusing the start says so at once.
function storageProblems(values: Record<string, unknown>, env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  if (values.storageDriver === 's3') {
    if (values.s3Bucket === undefined) problems.push('S3_BUCKET: required when STORAGE_DRIVER=s3');
    if (values.s3Region === undefined && !env.AWS_REGION && !env.AWS_DEFAULT_REGION) problems.push('S3_REGION: required when STORAGE_DRIVER=s3 (or set AWS_REGION)');
  }
  if (values.s3SseKmsKeyId !== undefined && values.s3Sse !== 'aws:kms') problems.push('S3_SSE_KMS_KEY_ID: only used with S3_SSE=aws:kms');
  for (const [value, env] of [[values.documentsPurgeSchedule, 'DOCUMENTS_PURGE_SCHEDULE'], [values.documentsOrphanSweepSchedule, 'DOCUMENTS_ORPHAN_SWEEP_SCHEDULE']] as const) {
    const schedule = String(value).trim();
    const fields = schedule.split(/\s+/).length;
    try {
      CronExpressionParser.parse(schedule, { tz: 'UTC' });
      if (fields !== 5 && fields !== 6) throw new Error('fields');
    } catch {
      problems.push(`${env}: expected a cron expression of 5 fields, or 6 with seconds (e.g. \`17 * * * *\`)`);
    }
  }
  return problems;
}

const OIDC_TRIO = [['oidcJwksUrl', 'OIDC_JWKS_URL'], ['oidcIssuer', 'OIDC_ISSUER'], ['oidcAudience', 'OIDC_AUDIENCE']] as const;
// Asymmetric JWS algorithms only: HS* would let anyone holding the shared secret (or the
// public key, in a key-confusion attack) mint tokens, and `none` is no signature at all.
const OIDC_ALLOWED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

function oidcProblems(values: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const set = OIDC_TRIO.filter(([name]) => values[name] !== undefined);
  if (set.length > 0 && set.length < OIDC_TRIO.length) {
    const missing = OIDC_TRIO.filter(([name]) => values[name] === undefined).map(([, env]) => env);
    problems.push(`${missing.join(', ')}: required when ${set.map(([, env]) => env).join(', ')} ${set.length === 1 ? 'is' : 'are'} set (OIDC needs all three)`);
  }
  const algorithms = values.oidcAlgorithms as string[] | undefined;
  if (algorithms) {
    const refused = algorithms.filter((alg) => !OIDC_ALLOWED_ALGORITHMS.includes(alg));
    if (refused.length > 0) problems.push(`OIDC_ALGORITHMS: ${refused.join(', ')} not accepted (allowed: ${OIDC_ALLOWED_ALGORITHMS.join(', ')})`);
    if (algorithms.length === 0) problems.push('OIDC_ALGORITHMS: must name at least one algorithm');
  }
  return problems;
}

type ParseResult = { value: unknown } | { error: string };

function parseField(f: Field, raw: string): ParseResult {
  switch (f.kind) {
    case 'int': {
      if (!/^-?\d+$/.test(raw)) return { error: `expected an integer, got "${shown(f, raw)}"` };
      const n = Number(raw);
      if (f.min !== undefined && n < f.min) return { error: `must be ≥ ${f.min}, got ${n}` };
      if (f.max !== undefined && n > f.max) return { error: `must be ≤ ${f.max}, got ${n}` };
      return { value: n };
    }
    case 'bool': {
      const v = raw.toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(v)) return { value: true };
      if (['false', '0', 'no', 'off'].includes(v)) return { value: false };
      return { error: `expected true or false, got "${shown(f, raw)}"` };
    }
    case 'enum':
      return f.values?.includes(raw) ? { value: raw } : { error: `expected one of ${f.values?.join(', ')}, got "${shown(f, raw)}"` };
    case 'url':
      try {
        new URL(raw);
        return { value: raw };
      } catch {
        return { error: 'not a valid URL' };
      }
    case 'list':
      return { value: splitList(raw) };
    case 'cidrs': {
      const entries = splitList(raw);
      for (const entry of entries) {
        const problem = cidrProblem(entry);
        if (problem) return { error: problem };
      }
      return { value: entries };
    }
    case 'string':
      return { value: raw };
  }
}

const splitList = (raw: string) => raw.split(',').map((s) => s.trim()).filter(Boolean);

// Secret values never appear in messages, even when malformed.
const shown = (f: Field, raw: string) => (f.secret ? '[redacted]' : raw);

function cidrProblem(entry: string): string | undefined {
  const [address, prefixText, extra] = entry.split('/');
  const family = address ? isIP(address) : 0;
  if (!address || family === 0 || extra !== undefined) return `"${entry}" is not an IP address or CIDR`;
  if (prefixText === undefined) return undefined;
  const prefix = Number(prefixText);
  const maxPrefix = family === 4 ? 32 : 128;
  if (!/^\d+$/.test(prefixText) || prefix > maxPrefix) return `"${entry}" has an invalid prefix length`;
  if (prefix === 0) return `"${entry}" would trust every address; list your proxies' addresses instead`;
  return undefined;
}
