import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './load.js';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 8080, metricsPort: 9464, env: 'development', dataDir: './.rampart', databasePoolMax: 20, databaseIdleTimeoutMs: 30_000, databaseConnectTimeoutMs: 2_000, forceHttps: false, trustedProxies: [], corsOrigins: [], logLevel: 'info' });
    expect(config.databaseUrl).toBeUndefined();
  });

  it('parses lists, booleans and CIDRs', () => {
    const config = loadConfig({ TRUSTED_PROXIES: '10.0.0.0/8, 192.168.1.10 ,::1, fd00::/8', CORS_ORIGINS: 'https://a.example,https://b.example', FORCE_HTTPS: 'yes' });
    expect(config.trustedProxies).toEqual(['10.0.0.0/8', '192.168.1.10', '::1', 'fd00::/8']);
    expect(config.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(config.forceHttps).toBe(true);
  });

  it('reports every problem at once, each naming its variable', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig({ PORT: '-1', DATABASE_POOL_MAX: '1.5', TRUSTED_PROXIES: '::/0', RAMPART_DATADIR: 'x', DOCS_USER: 'only-user' });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.problems).toEqual([
      'PORT: must be ≥ 0, got -1',
      'DATABASE_POOL_MAX: expected an integer, got "1.5"',
      'TRUSTED_PROXIES: "::/0" would trust every address; list your proxies\' addresses instead',
      expect.stringMatching(/^RAMPART_DATADIR: unknown setting/),
      'DOCS_PASSWORD: required when DOCS_USER is set',
    ]);
  });

  it('refuses malformed OpenTelemetry settings, naming each variable', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318', OTEL_TRACES_SAMPLER: 'sometimes', OTEL_TRACES_SAMPLER_ARG: '1.5', OTEL_BSP_MAX_QUEUE_SIZE: '0' });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error?.problems.map((p) => p.split(':')[0]).sort()).toEqual(['OTEL_BSP_MAX_QUEUE_SIZE', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG']);
    expect(loadConfig({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' })).toMatchObject({ otelTracesSampler: 'parentbased_traceidratio', otelTracesSamplerArg: '0.1' });
  });

  it.each(['10.0.0.0/33', '10.0.0/8', '1.2.3.4/8/1', 'example.com'])('rejects the malformed proxy entry %s', (entry) => {
    expect(() => loadConfig({ TRUSTED_PROXIES: entry })).toThrow(/TRUSTED_PROXIES/);
  });

  it('storage: local by default; S3 needs a bucket and a region, KMS key only with aws:kms, the purge schedule must be cron', () => {
    expect(loadConfig({})).toMatchObject({ storageDriver: 'local', uploadMaxBytes: 26_214_400, documentsRetentionS: 604_800, documentsPurgeSchedule: '17 * * * *' });
    expect(loadConfig({ STORAGE_DRIVER: 's3', S3_BUCKET: 'docs', AWS_REGION: 'eu-west-1' })).toMatchObject({ storageDriver: 's3', s3Bucket: 'docs', s3Sse: 'AES256' });
    const problems = (env: NodeJS.ProcessEnv) => {
      try {
        loadConfig(env);
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };
    expect(problems({ STORAGE_DRIVER: 's3' })).toEqual([
      'S3_BUCKET: required when STORAGE_DRIVER=s3',
      'S3_REGION: required when STORAGE_DRIVER=s3 (or set AWS_REGION)',
    ]);
    expect(problems({ STORAGE_DRIVER: 'disk' })).toEqual([expect.stringMatching(/^STORAGE_DRIVER: expected one of local, s3/)]);
    expect(problems({ S3_SSE_KMS_KEY_ID: 'alias/x' })).toEqual(['S3_SSE_KMS_KEY_ID: only used with S3_SSE=aws:kms']);
    expect(problems({ DOCUMENTS_PURGE_SCHEDULE: 'hourly' })).toEqual([expect.stringMatching(/^DOCUMENTS_PURGE_SCHEDULE: expected a cron expression/)]);
    expect(problems({ DOCUMENTS_ORPHAN_SWEEP_SCHEDULE: '* * *' })).toEqual([expect.stringMatching(/^DOCUMENTS_ORPHAN_SWEEP_SCHEDULE: expected a cron expression/)]);
    expect(problems({ UPLOAD_MAX_BYTES: '0' })).toEqual(['UPLOAD_MAX_BYTES: must be ≥ 1, got 0']);
    // An old name is refused by name, never echoing the key it holds.
    expect(problems({ BACKUP_AGE_IDENTITY: 'AGE-SECRET-KEY-1OLDNAME', BACKUP_AGE_RECIPIENTS: 'age1old' })).toEqual([
      'BACKUP_AGE_RECIPIENTS: renamed BACKUP_RECIPIENTS; set that instead',
      'BACKUP_AGE_IDENTITY: renamed BACKUP_IDENTITY; set that instead',
    ]);
  });

  it('takes one address as CONTACT_INBOX and refuses anything else, naming the variable', () => {
    expect(loadConfig({ CONTACT_INBOX: 'inbox@example.com' }).contactInbox).toBe('inbox@example.com');
    for (const value of ['not-an-address', 'a@b.example, c@d.example', 'a@b.example\nBcc: x@evil.example']) {
      expect(() => loadConfig({ CONTACT_INBOX: value })).toThrow(/CONTACT_INBOX: expected one email address/);
    }
  });

  it('before the secrets chain is read, leaves secrets unset and runs no rule on them, but still checks the rest', () => {
    const env = { DOCS_USER: 'ops', APP_SECRET: 'short', FIELD_ENCRYPTION_KEYS: 'bad', API_KEY_PEPPER: 'short', DATABASE_URL: 'not a url', SMTP_URL: 'nope' };
    const settings = loadConfig(env, { secrets: 'later' });
    expect(settings).toMatchObject({ docsUser: 'ops', docsPassword: undefined, appSecret: undefined, databaseUrl: undefined });
    expect(() => loadConfig(env)).toThrow(/DOCS_PASSWORD: required when DOCS_USER is set/);
    expect(() => loadConfig({ ...env, PORT: 'eighty' }, { secrets: 'later' })).toThrow(/PORT: expected an integer/);
    expect(() => loadConfig({ SECRETS_PROVIDERS: 'secretsmanager' }, { secrets: 'later' })).toThrow(/SECRETS_MANAGER_IDS: required/);
  });

  it('takes a Sentry DSN and refuses what is not one, naming SENTRY_DSN and never quoting the value', () => {
    for (const dsn of ['https://abc123@o1.ingest.sentry.io/4504', 'http://publickey@127.0.0.1:9000/1', 'https://key@sentry.example.com/sub/path/42']) {
      expect(loadConfig({ SENTRY_DSN: dsn }).sentryDsn).toBe(dsn);
    }
    const refused = {
      'https://secret-host.example/42': /SENTRY_DSN: has no public key/,
      'ftp://key@secret-host.example/42': /SENTRY_DSN: must start with https:\/\//,
      'https://key@secret-host.example/': /SENTRY_DSN: does not end with a numeric project id/,
      'https://key@secret-host.example/project': /SENTRY_DSN: does not end with a numeric project id/,
      'https://key@secret-host.example/42?x=1': /SENTRY_DSN: must not have a query string/,
      'key@secret-host.example/42': /SENTRY_DSN: not a valid URL/,
    };
    for (const [dsn, problem] of Object.entries(refused)) {
      let message = '';
      try {
        loadConfig({ SENTRY_DSN: dsn });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message, dsn).toMatch(problem);
      expect(message).not.toContain('secret-host');
    }
    // A secret: checked once the chain has supplied it, not before.
    expect(loadConfig({ SENTRY_DSN: 'ftp://x' }, { secrets: 'later' }).sentryDsn).toBeUndefined();
  });
});
