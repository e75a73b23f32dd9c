import { describe, expect, it } from 'vitest';
import { bearer, logIn, postJson, rampartOnFreshDatabase, signUp, uniqueEmail } from '../support/auth-client.js';
import { databaseTargets } from '../support/databases.js';
import { runCli } from '../support/rampart-process.js';
import { freePort } from '../support/reverse-proxy.js';

interface SmokeOutput {
  ok: boolean;
  checks: Array<{ name: string; status: 'pass' | 'fail' | 'skip'; detail: string }>;
}
const statuses = (output: SmokeOutput) => Object.fromEntries(output.checks.map((c) => [c.name, c.status]));
const detailOf = (output: SmokeOutput, name: string) => output.checks.find((c) => c.name === name)?.detail ?? '';

// An instance as it runs behind the proxy: HTTPS enforced, the proxy (127.0.0.1) trusted, docs
// behind credentials, a worker running.
const HEALTHY = { FORCE_HTTPS: 'true', TRUSTED_PROXIES: '127.0.0.1/32', DOCS_USER: 'docs', DOCS_PASSWORD: 'smoke-docs-password-123' };

describe.each(databaseTargets())('rampart smoke against a healthy instance on $name', (factory) => {
  // Without TEST_DATABASE_URL (a new user's `npm test`) the PostgreSQL instance is never started.
  describe.skipIf(!factory.available)('behind the proxy', () => {
    const suite = rampartOnFreshDatabase(factory, HEALTHY, ['serve', '--with-worker']);

    it('passes every check, from the redirect to the worker round trip and the clean-up, and exits 0', async (ctx) => {
      ctx.skip(!factory.available, factory.skipReason);
      const run = await runCli(['smoke', suite.rampart.baseUrl, '--json']);
      expect(run.stderr).toBe('');
      const output = JSON.parse(run.stdout) as SmokeOutput;
      expect(statuses(output), run.stdout).toEqual({
        'https-redirect': 'pass', 'security-headers': 'pass', health: 'pass', readiness: 'pass', 'metrics-not-public': 'pass',
        'docs-protected': 'pass', auth: 'pass', documents: 'pass', cleanup: 'pass',
      });
      expect(output.ok).toBe(true);
      expect(run.code).toBe(0);
      expect(detailOf(output, 'readiness')).toMatch(/database ok.*workers 1 alive/);
      expect(detailOf(output, 'cleanup')).toContain('document deleted');
      // The document it uploaded is gone.
      const email = /as (smoke-[0-9a-f]+@example\.com)/.exec(detailOf(output, 'auth'))?.[1];
      expect(email).toBeDefined();
    }, 120_000);

    it('uses a given API key instead of an account, and never prints it', async (ctx) => {
      ctx.skip(!factory.available, factory.skipReason);
      const email = uniqueEmail('smoke-key');
      await signUp(suite.rampart, email);
      const { access_token } = await logIn(suite.rampart, email);
      const issued = await postJson(suite.rampart, '/v1/api-keys', { name: 'smoke', scopes: ['documents:read', 'documents:write'] }, bearer(access_token));
      expect(issued.status, issued.body).toBe(201);
      const key = issued.json<{ key: string }>().key;

      const run = await runCli(['smoke', suite.rampart.baseUrl, '--api-key', key]);
      expect(run.code, run.stdout).toBe(0);
      expect(run.stdout).toMatch(/^auth\s+PASS\s+API key accepted$/m);
      expect(run.stdout).toContain('all checks passed');
      expect(run.stdout + run.stderr).not.toContain(key);
      expect(run.stdout).not.toContain('signed up');
    }, 120_000);
  });
});

describe('rampart smoke against a broken instance', () => {
  // HTTPS not enforced, no worker anywhere, docs open without credentials.
  const suite = rampartOnFreshDatabase(databaseTargets()[0]!, { FORCE_HTTPS: 'false', TRUSTED_PROXIES: '127.0.0.1/32' }, ['serve']);

  it('reports each fault and exits 1', async () => {
    const run = await runCli(['smoke', suite.rampart.baseUrl, '--json', '--worker-timeout', '3']);
    expect(run.code).toBe(1);
    const output = JSON.parse(run.stdout) as SmokeOutput;
    expect(output.ok).toBe(false);
    expect(statuses(output)).toMatchObject({
      'https-redirect': 'fail', 'security-headers': 'fail', health: 'pass', readiness: 'fail', 'metrics-not-public': 'pass',
      'docs-protected': 'fail', auth: 'pass', documents: 'fail', cleanup: 'pass',
    });
    expect(detailOf(output, 'https-redirect')).toContain('not a redirect to https');
    expect(detailOf(output, 'security-headers')).toContain('strict-transport-security missing');
    expect(detailOf(output, 'readiness')).toContain('no worker is running');
    expect(detailOf(output, 'docs-protected')).toBe('/docs and /openapi.json answered without credentials');
    expect(detailOf(output, 'documents')).toContain('the worker did not process the upload within 3 s');
  }, 120_000);

  it('prints a table, and exits 0 when the failing checks are skipped', async () => {
    const failing = await runCli(['smoke', suite.rampart.baseUrl, '--worker-timeout', '3', '--skip', 'documents']);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toMatch(/^docs-protected\s+FAIL\s+\/docs and \/openapi\.json answered without credentials$/m);
    expect(failing.stdout).toMatch(/^documents\s+SKIP\s+skipped \(--skip\)$/m);
    expect(failing.stdout).toMatch(/4 checks failed: https-redirect, security-headers, readiness, docs-protected/);

    const skipped = await runCli(['smoke', suite.rampart.baseUrl, '--skip', 'https-redirect,security-headers', '--skip', 'readiness', '--skip', 'docs-protected', '--skip', 'documents']);
    expect(skipped.code, skipped.stdout).toBe(0);
    expect(skipped.stdout).toContain('all checks passed');
  }, 120_000);

  it('refuses bad arguments with exit 2, and reports an unreachable URL as failures', async () => {
    const unknown = await runCli(['smoke', suite.rampart.baseUrl, '--skip', 'dns']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown check dns; the checks are https-redirect, security-headers');
    const notUrl = await runCli(['smoke', 'api.example.com']);
    expect(notUrl.code).toBe(2);
    expect(notUrl.stderr).toContain('"api.example.com" is not a URL');
    const unreachable = await runCli(['smoke', `http://127.0.0.1:${await freePort()}`, '--json']);
    expect(unreachable.code).toBe(1);
    const output = JSON.parse(unreachable.stdout) as SmokeOutput;
    expect(detailOf(output, 'health')).toBe('request failed: ECONNREFUSED');
  }, 60_000);
});
