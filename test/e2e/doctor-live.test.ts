import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { databaseTargets, type DatabaseTarget } from '../support/databases.js';
import { runDoctor, type DoctorReport } from '../support/doctor-cli.js';
import { runCli, startRampart, type RampartProcess } from '../support/rampart-process.js';
import { createTestAuthority, type TestAuthority } from '../support/test-certificates.js';
import { startTlsTerminatingProxy, type ProxyOptions, type TlsTerminatingProxy } from '../support/tls-terminating-proxy.js';

// Each case starts the built CLI, most of them a server too: generous on a loaded machine.
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

// `rampart doctor URL` against Rampart behind a TLS-terminating proxy (a test CA's
// certificate, X-Forwarded-Proto from a trusted address), then against set-ups that each get
// one thing wrong: every mistake must be named, with its severity, and a critical one must
// fail the run.

type Report = DoctorReport;

const SECRETS = {
  APP_SECRET: `app-${randomBytes(24).toString('hex')}`,
  FIELD_ENCRYPTION_KEYS: `prod1:${randomBytes(32).toString('base64url')}`,
  API_KEY_PEPPER: `pepper-${randomBytes(24).toString('hex')}`,
  DOCS_PASSWORD: `docs-${randomBytes(12).toString('hex')}`,
};
/** Everything a deployment behind a proxy should have, short of production mode itself. */
const HARDENED = {
  FORCE_HTTPS: 'true',
  TRUSTED_PROXIES: '127.0.0.1/32',
  DOCS_USER: 'docs',
  DOCS_PASSWORD: SECRETS.DOCS_PASSWORD,
  CORS_ORIGINS: 'https://app.example.com',
  READINESS_DETAIL: 'minimal',
  RATE_LIMIT_ENABLED: 'true',
};

let authority: TestAuthority;
let caFile: string;
let workDir: string;
let certificate: { certPem: string; keyPem: string };
const proxies: TlsTerminatingProxy[] = [];

beforeAll(async () => {
  authority = await createTestAuthority('Rampart doctor test CA');
  workDir = mkdtempSync(join(tmpdir(), 'rampart-doctor-'));
  caFile = join(workDir, 'ca.pem');
  writeFileSync(caFile, authority.caPem);
  certificate = await authority.issue(['127.0.0.1'], { days: 90 });
});
afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

async function proxyFor(rampart: RampartProcess, options: Partial<ProxyOptions> = {}): Promise<TlsTerminatingProxy> {
  const proxy = await startTlsTerminatingProxy({ ...certificate, upstream: rampart.baseUrl, ...options });
  proxies.push(proxy);
  return proxy;
}

/** `rampart doctor <https URL> --http-url <http URL> --json`, trusting the test CA as a browser would trust a public one. */
function doctor(proxy: TlsTerminatingProxy, env: Record<string, string | undefined> = { NODE_EXTRA_CA_CERTS: caFile }) {
  return runDoctor([proxy.httpsUrl, '--http-url', proxy.httpUrl], env);
}

const summary = (report: Report) => report.findings.map((f) => `${f.severity} ${f.id}`).sort();

for (const target of databaseTargets()) {
  const production = target.name === 'postgres';
  describe.skipIf(!target.available)(`a good set-up: ${production ? 'production on PostgreSQL' : 'hardened settings on the embedded database'}, behind TLS`, () => {
    let database: DatabaseTarget | undefined;
    let rampart: RampartProcess;
    let proxy: TlsTerminatingProxy;
    beforeAll(async () => {
      let env: Record<string, string> = { ...HARDENED };
      if (production) {
        database = await target.create();
        // Backups scheduled (to a key whose private half the test never needs): production
        // readiness is degraded without them.
        const recipient = /public key: (age1\w+)/.exec(execFileSync('age-keygen', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }))![1]!;
        env = { ...env, ...SECRETS, RAMPART_ENV: 'production', PUBLIC_BASE_URL: 'https://127.0.0.1', DATABASE_URL: database.url!, BACKUP_RECIPIENTS: recipient, BACKUP_DESTINATION: join(database.dataDir, 'backups') };
        const migrated = await runCli(['migrate', 'up'], env);
        expect(migrated.code, migrated.stderr).toBe(0);
      }
      rampart = await startRampart({ env });
      proxy = await proxyFor(rampart);
    });
    afterAll(async () => {
      await rampart?.stop();
      await database?.cleanup();
    });

    it('finds nothing wrong: exit 0, score 100, every live check run', async () => {
      const { code, report, stderr } = await doctor(proxy);
      expect(report.findings).toEqual([]);
      expect(code, stderr).toBe(0);
      expect(report.score).toBe(100);
      expect(report.targets.url).toBe(`${proxy.httpsUrl}/`);
      expect(report.checked).toEqual(['reachable', 'tls', 'headers', 'redirect', 'exposed-endpoints', 'cors', 'rate-limit-headers', 'readiness']);
    });

    it('prints a table with the score when not asked for JSON', async () => {
      const { code, stdout } = await runCli(['doctor', proxy.httpsUrl, '--http-url', proxy.httpUrl], { NODE_EXTRA_CA_CERTS: caFile });
      expect(code).toBe(0);
      expect(stdout).toContain(`audited: ${proxy.httpsUrl}/`);
      expect(stdout).toContain('no findings');
      expect(stdout).toMatch(/^score 100\/100: 0 critical, 0 warning, 0 info$/m);
    });

    it('the same site with a certificate nobody trusts: critical, exit 1', async () => {
      const { code, report } = await doctor(proxy, {});
      expect(summary(report)).toEqual(['critical tls-certificate-untrusted']);
      expect(report.findings[0]!.message).toContain('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
      expect(report.score).toBeLessThan(50);
      expect(code).toBe(1);
    });

    it('a proxy that routes /metrics to the metrics port: metrics-public, critical', async () => {
      const leaky = await proxyFor(rampart, { routes: { '/metrics': rampart.metricsUrl.replace(/\/metrics$/, '') } });
      const { code, report } = await doctor(leaky);
      expect(summary(report)).toEqual(['critical metrics-public']);
      expect(report.findings[0]!.message).toBe('/metrics answers 200 on the public address with Prometheus metrics');
      expect(code).toBe(1);
    });

    it('a certificate that expires in 3 days: critical; in 14 days: a warning, exit 0', async () => {
      const soon = await proxyFor(rampart, await authority.issue(['127.0.0.1'], { days: 3 }));
      const expiring = await doctor(soon);
      expect(summary(expiring.report)).toEqual(['critical tls-certificate-expiring']);
      expect(expiring.report.findings[0]!.message).toMatch(/expires in [23] days/);
      expect(expiring.code).toBe(1);

      const later = await proxyFor(rampart, await authority.issue(['127.0.0.1'], { days: 14 }));
      const renewalDue = await doctor(later);
      expect(summary(renewalDue.report)).toEqual(['warning tls-certificate-expiring']);
      expect(renewalDue.report.score).toBe(95);
      expect(renewalDue.code).toBe(0);
    });

    it('a proxy that still accepts TLS 1.1, or 1.0 too: tls-legacy-version, critical', async () => {
      const legacy = await proxyFor(rampart, { minVersion: 'TLSv1.1' });
      const { code, report } = await doctor(legacy);
      expect(summary(report)).toEqual(['critical tls-legacy-version']);
      expect(report.findings[0]!.message).toBe(`${new URL(legacy.httpsUrl).host} accepts TLS 1.1`);
      expect(code).toBe(1);

      const older = await proxyFor(rampart, { minVersion: 'TLSv1' });
      expect((await doctor(older)).report.findings.map((f) => f.message)).toEqual([`${new URL(older.httpsUrl).host} accepts TLS 1.0 and TLS 1.1`]);
    });

    it('a proxy that sets X-Frame-Options as well as Rampart: header-duplicated, a warning, exit 0', async () => {
      const doubled = await proxyFor(rampart, { addHeaders: { 'X-Frame-Options': 'SAMEORIGIN' } });
      const { code, report } = await doctor(doubled);
      expect(summary(report)).toEqual(['warning header-duplicated']);
      expect(report.findings[0]!.message).toBe('the x-frame-options header is sent 2 times (Rampart and the proxy both set it)');
      expect(report.score).toBe(95);
      expect(code).toBe(0);
    });

    it('the plain-http address given as the URL: not-https, critical', async () => {
      const { code, stdout } = await runCli(['doctor', rampart.baseUrl, '--json']);
      const report = JSON.parse(stdout) as Report;
      expect(summary(report)).toEqual(['critical not-https']);
      expect(code).toBe(1);
    });
  });
}

describe('bad set-ups, one mistake each (embedded database, behind the same TLS proxy)', () => {
  const started: RampartProcess[] = [];
  afterAll(async () => {
    await Promise.all(started.map((r) => r.stop()));
  });
  async function behindProxy(env: Record<string, string | undefined>): Promise<TlsTerminatingProxy> {
    const rampart = await startRampart({ env: { ...HARDENED, ...env } });
    started.push(rampart);
    return proxyFor(rampart);
  }

  it('HTTPS not enforced (FORCE_HTTPS off): no redirect and no HSTS, both critical', async () => {
    const { code, report } = await doctor(await behindProxy({ FORCE_HTTPS: 'false' }));
    expect(summary(report)).toEqual(['critical hsts-missing', 'critical http-not-redirected']);
    expect(report.findings.find((f) => f.id === 'http-not-redirected')!.message).toMatch(/answered 200 over plain http/);
    expect(code).toBe(1);
  });

  it('API docs without credentials: docs-public, critical', async () => {
    const { code, report } = await doctor(await behindProxy({ DOCS_USER: undefined, DOCS_PASSWORD: undefined }));
    expect(summary(report)).toEqual(['critical docs-public']);
    expect(report.findings[0]!.message).toContain('/docs and /openapi.json answer without credentials');
    expect(code).toBe(1);
  });

  it('wildcard CORS: cors-any-origin, critical', async () => {
    const { code, report } = await doctor(await behindProxy({ CORS_ORIGINS: '*' }));
    expect(summary(report)).toEqual(['critical cors-any-origin']);
    expect(report.findings[0]!.message).toContain('Access-Control-Allow-Origin: *');
    expect(code).toBe(1);
  });

  it('rate limits off and the full readiness report in public: two warnings, score 90, exit 0', async () => {
    const { code, report } = await doctor(await behindProxy({ RATE_LIMIT_ENABLED: 'false', READINESS_DETAIL: 'full' }));
    expect(summary(report)).toEqual(['warning rate-limit-headers-missing', 'warning readiness-detail-public']);
    expect(report.score).toBe(90);
    expect(code).toBe(0);
  });
});

describe('rampart doctor usage', () => {
  it('a malformed URL, an unknown option or a bad --timeout is exit 2 and names the problem', async () => {
    const notUrl = await runCli(['doctor', 'api.example.com']);
    expect(notUrl.code).toBe(2);
    expect(notUrl.stderr).toContain('rampart doctor: URL "api.example.com" is not a URL');
    const ftp = await runCli(['doctor', 'ftp://api.example.com']);
    expect(ftp.code).toBe(2);
    expect(ftp.stderr).toContain('is not an http(s) URL');
    const unknown = await runCli(['doctor', '--no-such-option']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--no-such-option'");
    const timeout = await runCli(['doctor', 'https://127.0.0.1:9', '--timeout', 'soon']);
    expect(timeout.code).toBe(2);
    expect(timeout.stderr).toContain('--timeout must be a whole number of milliseconds');
  });

  it('an address nothing listens on: unreachable, critical, exit 1', async () => {
    const { code, stdout } = await runCli(['doctor', 'https://127.0.0.1:9', '--json', '--timeout', '5000']);
    const report = JSON.parse(stdout) as Report;
    expect(report.findings.map((f) => [f.severity, f.id])).toEqual([['critical', 'unreachable']]);
    expect(report.findings[0]!.message).toContain('ECONNREFUSED');
    expect(code).toBe(1);
  });

  it('--help shows an example and the exit codes', async () => {
    const { code, stdout } = await runCli(['doctor', '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('rampart doctor https://api.example.com');
    expect(stdout).toContain('Exit codes: 0 no critical finding; 1 at least one critical finding; 2 bad usage');
  });
});
