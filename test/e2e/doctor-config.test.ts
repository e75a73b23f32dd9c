import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { databaseTargets, type DatabaseTarget } from '../support/databases.js';
import { runDoctor, type DoctorReport } from '../support/doctor-cli.js';
import { repoRoot, runCli, startRampart, type RampartProcess } from '../support/rampart-process.js';

// Each case starts the built CLI, some of them a server too: generous on a loaded machine.
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

// `rampart doctor --config` judges the configuration this environment gives `rampart serve`:
// the production guard's refusals, the settings it lets through, secret ages, backups and
// alerting. Never a secret's value in what it prints.

type Report = DoctorReport;

const summary = (report: Report) => report.findings.map((f) => `${f.severity} ${f.id}`).sort();

const workDir = mkdtempSync(join(tmpdir(), 'rampart-doctor-config-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/** A SECRETS_DIR holding `secrets`, one file each, as Docker or Kubernetes mount them. */
function secretsDir(secrets: Record<string, string>): string {
  const dir = mkdtempSync(join(workDir, 'secrets-'));
  for (const [key, value] of Object.entries(secrets)) writeFileSync(join(dir, key.toLowerCase()), `${value}\n`, { mode: 0o600 });
  return dir;
}

/** The shipped Prometheus and Alertmanager configurations, with the example addresses replaced by real-looking ones. */
function ownDeployDir(): string {
  const dir = mkdtempSync(join(workDir, 'deploy-'));
  for (const file of ['prometheus/prometheus.yml', 'alertmanager/alertmanager.yml']) {
    mkdirSync(join(dir, file.split('/')[0]!), { recursive: true });
    writeFileSync(join(dir, file), readFileSync(join(repoRoot, 'deploy', file), 'utf8').replace(/example\.com/g, 'acme-corp.io'));
  }
  return dir;
}

const doctorConfig = (env: Record<string, string | undefined>, args: string[] = []) => runDoctor(['--config', ...args], env);

// A field-encryption key whose id dates it to 2020: far past the 180-day policy.
const OLD_FIELD_KEY = `k20200101T000000-abc123:${randomBytes(32).toString('base64url')}`;

describe('rampart doctor --config on the embedded database', () => {
  it('a production environment missing its secrets: each problem serve refuses on is a critical finding, exit 1', async () => {
    const env = { RAMPART_ENV: 'production', FIELD_ENCRYPTION_KEYS: OLD_FIELD_KEY };
    const { code, report, stdout } = await doctorConfig(env);
    expect(summary(report).filter((s) => s.startsWith('critical'))).toEqual([
      'critical backups-not-configured',
      'critical database-embedded',
      'critical docs-public',
      'critical https-not-enforced',
      'critical public-url-not-https',
      'critical secret-missing-api-key-pepper',
      'critical secret-missing-app-secret',
    ]);
    expect(code).toBe(1);
    expect(report.score).toBeLessThan(50);

    // The very lines `rampart serve` stops on, not a second copy of the rules.
    const serve = await runCli(['serve'], env);
    expect(serve.code).toBe(3);
    const refusals = serve.stderr.split('\n').filter((l) => l.startsWith('  ')).map((l) => l.trim());
    expect(refusals).toHaveLength(6);
    for (const line of refusals) expect(report.findings.map((f) => f.message)).toContain(line);

    const overdue = report.findings.find((f) => f.id === 'secret-overdue')!;
    expect(overdue).toMatchObject({ severity: 'warning', fix: 'rampart secrets rotate field-encryption-key', docs: 'README.md#secrets' });
    expect(overdue.message).toMatch(/^FIELD_ENCRYPTION_KEYS is \d+ days old \(policy: 180 days\)$/);
    expect(stdout).not.toContain(OLD_FIELD_KEY.split(':')[1]);
  });

  it('the development defaults: not-production is critical, and nothing is written to the data directory', async () => {
    const dataDir = mkdtempSync(join(workDir, 'data-'));
    const { code, report } = await doctorConfig({ RAMPART_DATA_DIR: dataDir });
    expect(report.findings.find((f) => f.id === 'not-production')).toMatchObject({ severity: 'critical', fix: 'set RAMPART_ENV=production where Rampart serves users' });
    // serve would generate development secrets here; an audit only reports them missing.
    expect(summary(report)).toContain('critical secret-missing-app-secret');
    expect(() => readFileSync(join(dataDir, 'secrets.json'))).toThrow(/ENOENT/);
    expect(code).toBe(1);
  });

  it('a malformed setting: config-invalid, critical, naming the variable as serve does', async () => {
    const { code, report } = await doctorConfig({ PORT: 'eighty' });
    expect(summary(report)).toEqual(['critical config-invalid']);
    expect(report.findings[0]!.message).toMatch(/^PORT: /);
    expect(report.checked).toEqual(['configuration']);
    expect(code).toBe(1);
  });

  it('a URL with --config audits both: the live checks first, then the configuration, in one report', async () => {
    const { code, stdout } = await runCli(['doctor', 'https://127.0.0.1:9', '--config', '--json', '--timeout', '5000'], { RAMPART_ENV: 'production' });
    const report = JSON.parse(stdout) as Report & { targets: { url?: string; config?: boolean } };
    expect(report.targets).toEqual({ url: 'https://127.0.0.1:9/', config: true });
    expect(report.checked).toEqual(['reachable', 'configuration', 'production-guard', 'settings', 'secret-ages', 'backups', 'alerting']);
    expect(summary(report)).toContain('critical unreachable');
    expect(summary(report)).toContain('critical database-embedded');
    expect(code).toBe(1);
  });
});

const postgres = databaseTargets()[1]!;

describe.skipIf(!postgres.available)('rampart doctor --config on a production configuration (PostgreSQL)', () => {
  // age-keygen prints the identity file; its public key is the recipient backups are sealed to.
  const ageIdentity = execFileSync('age-keygen', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const ageRecipient = /public key: (age1\w+)/.exec(ageIdentity)![1]!;
  const SECRETS = {
    APP_SECRET: `app-${randomBytes(24).toString('hex')}`,
    FIELD_ENCRYPTION_KEYS: `prod1:${randomBytes(32).toString('base64url')}`,
    API_KEY_PEPPER: `pepper-${randomBytes(24).toString('hex')}`,
    DOCS_PASSWORD: `docs-${randomBytes(12).toString('hex')}`,
    BACKUP_IDENTITY: ageIdentity,
  };
  const SENTRY_DSN = `https://${randomBytes(8).toString('hex')}@errors.acme-corp.io/7`;
  let database: DatabaseTarget;
  let good: Record<string, string | undefined>;
  let deployDir: string;
  let rampart: RampartProcess;
  let metricsArgs: string[];
  let emptyStore: RampartProcess | undefined;
  beforeAll(async () => {
    database = await postgres.create();
    deployDir = ownDeployDir();
    good = {
      RAMPART_ENV: 'production',
      DATABASE_URL: database.url,
      SECRETS_PROVIDERS: 'file,env',
      SECRETS_DIR: secretsDir(SECRETS),
      SENTRY_DSN,
      FORCE_HTTPS: 'true',
      TRUSTED_PROXIES: '10.0.0.0/8',
      DOCS_USER: 'docs',
      CORS_ORIGINS: 'https://app.acme-corp.io',
      PUBLIC_BASE_URL: 'https://api.acme-corp.io',
      REDIS_URL: 'redis://127.0.0.1:6379',
      STORAGE_DRIVER: 's3',
      S3_BUCKET: 'acme-documents',
      S3_REGION: 'eu-west-1',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
      BACKUP_DESTINATION: mkdtempSync(join(workDir, 'backups-')),
      BACKUP_RECIPIENTS: ageRecipient,
    };
    // A backup taken and proven by a restore drill, as the worker's schedule would.
    for (const args of [['migrate', 'up'], ['backup'], ['backup', 'verify', 'latest']]) {
      const run = await runCli(args, good);
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(0);
    }
    // The process whose metrics port reports them; it never reaches out to S3, Redis, a
    // collector or Sentry (the audit only reads those settings).
    rampart = await startRampart({ env: { ...good, STORAGE_DRIVER: 'local', S3_BUCKET: undefined, S3_REGION: undefined, REDIS_URL: undefined, OTEL_EXPORTER_OTLP_ENDPOINT: undefined, SENTRY_DSN: undefined } });
    metricsArgs = ['--deploy-dir', deployDir, '--metrics-url', rampart.metricsUrl];
  });
  afterAll(async () => {
    await rampart?.stop();
    await emptyStore?.stop();
    await database?.cleanup();
  });

  it('a good configuration, backed up and drilled: nothing but an info, score 100, exit 0, and no secret value printed', async () => {
    const { code, report, stdout, stderr } = await doctorConfig(good, metricsArgs);
    expect(summary(report)).toEqual(['info host-loopback']);
    expect(report.score).toBe(100);
    expect(report.checked).toEqual(['configuration', 'production-guard', 'settings', 'secret-ages', 'backups', 'alerting']);
    expect(code, stderr).toBe(0);
    for (const value of [...Object.values(SECRETS), /AGE-SECRET-KEY-\w+/.exec(ageIdentity)![0], SENTRY_DSN, SENTRY_DSN.split('@')[0]!.slice(8)]) {
      expect(stdout).not.toContain(value);
      expect(stderr).not.toContain(value);
    }
  });

  // One change from the good configuration each, and what doctor must say about it.
  const changes: Array<{ change: string; env: () => Record<string, string | undefined>; expected: string[]; code: number }> = [
    { change: 'METRICS_PORT equal to PORT', env: () => ({ PORT: '8080', METRICS_PORT: '8080' }), expected: ['critical metrics-port-public'], code: 1 },
    { change: 'the full readiness report in public', env: () => ({ READINESS_DETAIL: 'full' }), expected: ['warning readiness-detail-public'], code: 0 },
    { change: 'no OpenTelemetry endpoint', env: () => ({ OTEL_EXPORTER_OTLP_ENDPOINT: undefined }), expected: ['warning tracing-off'], code: 0 },
    { change: 'no SENTRY_DSN', env: () => ({ SENTRY_DSN: undefined }), expected: ['warning error-reporting-off'], code: 0 },
    { change: 'required secrets in environment variables', env: () => ({ SECRETS_PROVIDERS: 'env', SECRETS_DIR: undefined, ...SECRETS }), expected: ['warning secrets-in-environment'], code: 0 },
    { change: 'a field-encryption key from 2020', env: () => ({ SECRETS_DIR: secretsDir({ ...SECRETS, FIELD_ENCRYPTION_KEYS: OLD_FIELD_KEY }) }), expected: ['warning secret-overdue'], code: 0 },
    { change: 'a database that does not answer', env: () => ({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/rampart' }), expected: ['warning secrets-audit-incomplete'], code: 0 },
    { change: 'a remote database without sslmode=verify-full', env: () => ({ DATABASE_URL: 'postgres://postgres@db.acme-corp.invalid:5432/rampart?sslmode=require' }), expected: ['warning database-tls-unverified', 'warning secrets-audit-incomplete'], code: 0 },
    { change: 'local document storage', env: () => ({ STORAGE_DRIVER: 'local' }), expected: ['warning storage-local'], code: 0 },
    { change: 'no Redis', env: () => ({ REDIS_URL: undefined }), expected: ['warning redis-missing'], code: 0 },
    { change: 'FORCE_HTTPS without TRUSTED_PROXIES', env: () => ({ TRUSTED_PROXIES: undefined }), expected: ['warning trusted-proxies-empty'], code: 0 },
    { change: 'HOST=0.0.0.0 (a container)', env: () => ({ HOST: '0.0.0.0' }), expected: ['info metrics-port-on-all-interfaces'], code: 0 },
    { change: 'no BACKUP_RECIPIENTS', env: () => ({ BACKUP_RECIPIENTS: undefined }), expected: ['critical backups-not-configured'], code: 1 },
    { change: 'BACKUP_SCHEDULE=off', env: () => ({ BACKUP_SCHEDULE: 'off' }), expected: ['critical backups-not-configured'], code: 1 },
  ];
  for (const { change, env, expected, code } of changes) {
    it(`${change}: ${expected.join(', ')}, exit ${code}`, async () => {
      const result = await doctorConfig({ ...good, ...env() }, metricsArgs);
      const baseline = env().HOST ? [] : ['info host-loopback'];
      expect(summary(result.report)).toEqual([...baseline, ...expected].sort());
      expect(result.code, result.stderr).toBe(code);
    });
  }

  it('the shipped example deploy/ files: alerting-placeholders for Alertmanager and Prometheus; none: alerting-not-configured', async () => {
    const shipped = await doctorConfig(good, ['--deploy-dir', join(repoRoot, 'deploy'), '--metrics-url', rampart.metricsUrl]);
    const placeholders = shipped.report.findings.filter((f) => f.id === 'alerting-placeholders');
    expect(placeholders.map((f) => f.message.split(' ')[0])).toEqual([join(repoRoot, 'deploy/alertmanager/alertmanager.yml'), join(repoRoot, 'deploy/prometheus/prometheus.yml')]);
    expect(placeholders[0]!.message).toContain('global.smtp_smarthost');
    expect(shipped.code).toBe(0);

    const none = await doctorConfig(good, ['--deploy-dir', join(workDir, 'no-such-dir'), '--metrics-url', rampart.metricsUrl]);
    expect(none.report.findings.find((f) => f.id === 'alerting-not-configured')).toMatchObject({ severity: 'warning', docs: 'README.md#observability' });
  });

  it('backups scheduled but none taken: backup-missing (critical) from the metrics port; an unreachable one is said so', async () => {
    emptyStore = await startRampart({ env: { BACKUP_DESTINATION: mkdtempSync(join(workDir, 'no-backups-')) } });
    const taken = await doctorConfig(good, ['--deploy-dir', deployDir, '--metrics-url', emptyStore.metricsUrl]);
    expect(summary(taken.report)).toEqual(['critical backup-missing', 'info host-loopback', 'warning backup-not-verified']);
    expect(taken.code).toBe(1);

    const unreachable = await doctorConfig(good, ['--deploy-dir', deployDir, '--metrics-url', 'http://127.0.0.1:9/metrics']);
    expect(summary(unreachable.report)).toEqual(['info backup-recency-unchecked', 'info host-loopback']);
    expect(unreachable.report.findings.find((f) => f.id === 'backup-recency-unchecked')!.message).toContain('ECONNREFUSED');
    expect(unreachable.code).toBe(0);
  });
});
