import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli, startRampart, type RampartProcess } from '../support/rampart-process.js';
import { SITE, startCaddy, startNginx, type RunningProxy } from '../support/reverse-proxy.js';
import { createTestAuthority, type TestAuthority } from '../support/test-certificates.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

// `rampart doctor` against the shipped nginx and Caddy configurations (deploy/proxy/), run by
// the real binaries in front of a hardened Rampart: what a team gets by following the README.
// The site's name is pinned to 127.0.0.1 with --resolve, as before a DNS switch-over.

interface Report { score: number; checked: string[]; findings: Array<{ id: string; severity: string; message: string }> }

const DOCS = { user: 'docs-reader', password: `docs-${randomBytes(6).toString('hex')}` };
let authority: TestAuthority;
let caFile: string;
let workDir: string;
let rampart: RampartProcess;
beforeAll(async () => {
  authority = await createTestAuthority('Rampart doctor proxy CA');
  workDir = mkdtempSync(join(tmpdir(), 'rampart-doctor-proxies-'));
  caFile = join(workDir, 'ca.pem');
  writeFileSync(caFile, authority.caPem);
  rampart = await startRampart({ env: { FORCE_HTTPS: 'true', TRUSTED_PROXIES: '127.0.0.1/32', DOCS_USER: DOCS.user, DOCS_PASSWORD: DOCS.password, CORS_ORIGINS: `https://app.${SITE}`, READINESS_DETAIL: 'minimal', RATE_LIMIT_ENABLED: 'true' } });
});
afterAll(async () => {
  await rampart?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe.each([['nginx', startNginx], ['caddy', startCaddy]] as const)('the shipped %s configuration', (kind, start) => {
  let proxy: RunningProxy;
  beforeAll(async () => {
    proxy = await start({ authority, upstreams: [new URL(rampart.baseUrl).host], docs: DOCS, certificateDays: 90 });
  });
  afterAll(async () => {
    await proxy?.stop();
  });

  it('passes every live check: no finding, score 100, exit 0', async () => {
    const { code, stdout, stderr } = await runCli(['doctor', `https://${SITE}:${proxy.httpsPort}`, '--http-url', `http://${SITE}:${proxy.httpPort}`, '--resolve', `${SITE}:127.0.0.1`, '--json'], { NODE_EXTRA_CA_CERTS: caFile });
    const report = JSON.parse(stdout) as Report;
    expect(report.findings, kind).toEqual([]);
    expect(report.score).toBe(100);
    expect(report.checked).toEqual(['reachable', 'tls', 'headers', 'redirect', 'exposed-endpoints', 'cors', 'rate-limit-headers', 'readiness']);
    expect(code, stderr).toBe(0);

    // The same audit without the test CA: the proxy's own certificate was the one examined.
    const untrusted = JSON.parse((await runCli(['doctor', `https://${SITE}:${proxy.httpsPort}`, '--http-url', `http://${SITE}:${proxy.httpPort}`, '--resolve', `${SITE}:127.0.0.1`, '--json'])).stdout) as Report;
    expect(untrusted.findings.map((f) => f.id)).toEqual(['tls-certificate-untrusted']);
  });
});

describe('--resolve', () => {
  it('takes HOST:ADDRESS; anything else is exit 2', async () => {
    for (const bad of ['api.example.com', 'api.example.com:not-an-ip', ':127.0.0.1']) {
      const { code, stderr } = await runCli(['doctor', 'https://api.example.com', '--resolve', bad]);
      expect(code, bad).toBe(2);
      expect(stderr).toContain('--resolve takes HOST:ADDRESS');
    }
  });
});
