import { randomBytes } from 'node:crypto';
import { Agent } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseTargets, type DatabaseTarget } from '../support/databases.js';
import { startRampart, type RampartProcess } from '../support/rampart-process.js';
import { headerCount, SITE, startCaddy, startNginx, tlsHandshake, webSocketEcho, type ProxyOptions, type RunningProxy } from '../support/reverse-proxy.js';
import { createTestAuthority, type TestAuthority } from '../support/test-certificates.js';

// The shipped nginx and Caddy configurations (deploy/proxy/), run by the real binaries in front
// of two Rampart instances on one PostgreSQL database, checked over real TLS.
const postgres = databaseTargets().find((t) => t.name === 'postgres')!;
const DOCS = { user: 'docs-reader', password: `docs-${randomBytes(6).toString('hex')}` };
const SECURITY_HEADERS = [
  'strict-transport-security',
  'content-security-policy',
  'x-content-type-options',
  'x-frame-options',
  'referrer-policy',
  'permissions-policy',
  'cross-origin-opener-policy',
  'cross-origin-resource-policy',
  'x-correlation-id',
];
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const starters = { nginx: startNginx, caddy: startCaddy } as const;

let authority: TestAuthority;
beforeAll(async () => {
  authority = await createTestAuthority('Rampart proxy test CA');
});

describe.each(['nginx', 'caddy'] as const)('%s configuration', (kind) => {
  let proxy: RunningProxy;
  beforeAll(async () => {
    // Nothing listens upstream: what the proxy answers by itself.
    proxy = await starters[kind]({ authority, upstreams: ['127.0.0.1:9'], docs: DOCS });
  }, 60_000);
  afterAll(async () => {
    await proxy?.stop();
  });

  it(`passes ${kind === 'nginx' ? 'nginx -t' : 'caddy validate'} and serves TLS 1.2 and 1.3 only`, async () => {
    for (const version of ['tls1', 'tls1_1'] as const) {
      const handshake = await tlsHandshake(proxy.httpsPort, version);
      expect(handshake.accepted, version).toBe(false);
      // Refused by the server (a protocol_version alert), not by our client.
      expect(handshake.output, version).toMatch(/alert protocol version/);
    }
    for (const version of ['tls1_2', 'tls1_3'] as const) {
      const handshake = await tlsHandshake(proxy.httpsPort, version);
      expect(handshake.accepted, `${version}: ${handshake.output}`).toBe(true);
    }
    expect((await tlsHandshake(proxy.httpsPort, 'tls1_2')).output).toMatch(/Cipher is ECDHE-ECDSA-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)/);
  });

  it('redirects http to https, keeping the method for non-GET requests (308)', async () => {
    const get = await proxy.plainRequest('/v1/me?x=1');
    expect(get.status).toBe(kind === 'nginx' ? 301 : 308);
    expect(get.headers.location).toMatch(new RegExp(`^https://${SITE.replaceAll('.', '\\.')}(:\\d+)?/v1/me\\?x=1$`));
    const post = await proxy.plainRequest('/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(post.status).toBe(308);
  });

  it('answers /metrics 404 itself, and the docs 401 without credentials, with each security header once', async () => {
    for (const path of ['/metrics', '/metrics/anything']) {
      const res = await proxy.request(path);
      expect(res.status, path).toBe(404);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      for (const name of SECURITY_HEADERS) expect(headerCount(res, name), `${path} ${name}`).toBe(1);
    }
    for (const path of ['/docs', '/docs/static/index.html', '/openapi.json']) {
      const res = await proxy.request(path);
      expect(res.status, path).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Basic /);
      for (const name of SECURITY_HEADERS) expect(headerCount(res, name), `${path} ${name}`).toBe(1);
    }
  });

  it('answers 503 problem+json when no instance is up', async () => {
    const res = await proxy.request('/health');
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body)).toMatchObject({ status: 503, title: 'Service Unavailable' });
    expect(res.headers['retry-after']).toBe('5');
    for (const name of SECURITY_HEADERS) expect(headerCount(res, name), name).toBe(1);
  }, 30_000);
});

describe.skipIf(!postgres.available).each(['nginx', 'caddy'] as const)('%s in front of two Rampart instances', (kind) => {
  let target: DatabaseTarget;
  const instances: RampartProcess[] = [];
  let proxy: RunningProxy;

  beforeAll(async () => {
    target = await postgres.create();
    const env = {
      DATABASE_URL: target.url,
      RAMPART_DATA_DIR: target.dataDir,
      FORCE_HTTPS: 'true',
      TRUSTED_PROXIES: '127.0.0.1/32',
      DOCS_USER: DOCS.user,
      DOCS_PASSWORD: DOCS.password,
      MIGRATE_ON_START: 'true',
      // The sign-ins below must meet the proxy's limit, not Rampart's own throttle.
      AUTH_THROTTLE_DELAY_AFTER: '1000',
      AUTH_LOCKOUT_AFTER: '10000',
    };
    instances.push(await startRampart({ env }));
    instances.push(await startRampart({ env }));
    const options: ProxyOptions = { authority, upstreams: instances.map((i) => `127.0.0.1:${i.port}`), docs: DOCS, rateLimitExempt: ['127.0.0.1'] };
    proxy = await starters[kind](options);
  }, 120_000);
  afterAll(async () => {
    await proxy?.stop();
    await Promise.all(instances.map((i) => i.stop()));
    await target?.cleanup();
  });

  const answeredBy = (correlationId: string) => instances.findIndex((i) => i.logs.some((l) => l.correlation_id === correlationId && l.msg === 'request completed'));

  it('passes the request on with X-Forwarded-*, a correlation id and a traceparent, and logs JSON lines with that id', async () => {
    const res = await proxy.request('/test/forwarded', { headers: { 'x-forwarded-for': '203.0.113.66', 'x-correlation-id': 'proxy-check-1' } });
    expect(res.status).toBe(200);
    const seen = JSON.parse(res.body) as { ip: string; protocol: string; headers: Record<string, string | null> };
    // A forged X-Forwarded-For from the client is replaced by the address the proxy saw.
    expect(seen.ip).toBe('127.0.0.1');
    expect(seen.protocol).toBe('https');
    expect(seen.headers['x-forwarded-proto']).toBe('https');
    expect(seen.headers['x-forwarded-host']).toMatch(new RegExp(`^${SITE.replaceAll('.', '\\.')}`));
    expect(seen.headers['x-correlation-id']).toBe('proxy-check-1');
    expect(seen.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(headerCount(res, 'x-correlation-id')).toBe(1);
    expect(res.headers['x-correlation-id']).toBe('proxy-check-1');

    // An invalid id is not passed on; the proxy's own id reaches Rampart and the log.
    const minted = await proxy.request('/test/forwarded', { headers: { 'x-correlation-id': 'bad id <script>' } });
    const mintedId = (JSON.parse(minted.body) as { headers: Record<string, string> }).headers['x-correlation-id']!;
    expect(mintedId).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
    expect(minted.headers['x-correlation-id']).toBe(mintedId);

    // Log lines are written when the request completes; the file may trail by a moment.
    let lines: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 50 && !lines.some((l) => JSON.stringify(l).includes(mintedId)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      lines = (await proxy.accessLog()).map((line) => JSON.parse(line) as Record<string, unknown>);
    }
    const correlationOf = (line: Record<string, unknown>) =>
      kind === 'nginx' ? line.correlation_id : ((line.resp_headers as Record<string, string[]> | undefined)?.['X-Correlation-Id']?.[0]);
    expect(lines.map(correlationOf)).toContain('proxy-check-1');
    expect(lines.map(correlationOf)).toContain(mintedId);
  });

  it('leaves Rampart\'s own security headers alone: each appears once, on success and on errors', async () => {
    for (const path of ['/health', '/test/no-such-route', '/v1/me']) {
      const res = await proxy.request(path);
      expect([200, 401, 404], path).toContain(res.status);
      for (const name of SECURITY_HEADERS) expect(headerCount(res, name), `${path} ${name}`).toBe(1);
      // Rampart's API policy, not the proxy's fallback.
      expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    }
  });

  it('serves /assets/ with one 7-day immutable Cache-Control and compresses text', async () => {
    const asset = await proxy.request('/assets/rampart.svg');
    expect(asset.status).toBe(200);
    expect(headerCount(asset, 'cache-control')).toBe(1);
    expect(asset.headers['cache-control']).toBe('public, max-age=604800, immutable');

    const gzip = await proxy.request('/test/big', { headers: { 'accept-encoding': 'gzip' } });
    expect(gzip.status).toBe(200);
    expect(gzip.headers['content-encoding']).toBe('gzip');
    if (kind === 'caddy') {
      const zstd = await proxy.request('/test/big', { headers: { 'accept-encoding': 'zstd' } });
      expect(zstd.headers['content-encoding']).toBe('zstd');
    }
  });

  it('never proxies /metrics, and lets the docs through only with the credentials', async () => {
    const metrics = await proxy.request('/metrics', { headers: { 'x-correlation-id': 'metrics-probe' } });
    expect(metrics.status).toBe(404);
    const docs = await proxy.request('/openapi.json', { headers: { authorization: basic(DOCS.user, DOCS.password) } });
    expect(docs.status).toBe(200);
    expect(JSON.parse(docs.body)).toHaveProperty('openapi');
    const wrong = await proxy.request('/openapi.json', { headers: { authorization: basic(DOCS.user, 'wrong-password'), 'x-correlation-id': 'docs-wrong' } });
    expect(wrong.status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(answeredBy('metrics-probe')).toBe(-1);
    expect(answeredBy('docs-wrong')).toBe(-1);
  });

  it('lets the admin API through only from the allowlist', async () => {
    const outside = await proxy.request('/v1/admin/users', { localAddress: '127.0.0.2' });
    expect(outside.status).toBe(403);
    expect(outside.headers['content-type']).toMatch(/application\/problem\+json/);
    const inside = await proxy.request('/v1/admin/users');
    // Through to Rampart, which wants an admin's token.
    expect(inside.status).toBe(401);
    expect(inside.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it('refuses a body over the size limit before it reaches Rampart', async () => {
    const res = await proxy.request('/test/echo', { method: 'POST', headers: { 'content-type': 'application/json', 'x-correlation-id': 'too-large', expect: '100-continue' }, body: Buffer.alloc(26 * 1024 * 1024, 0x20) });
    expect(res.status).toBe(413);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(answeredBy('too-large')).toBe(-1);
  }, 60_000);

  // Caddy has no rate limiting built in (deploy/proxy/README.md): only nginx gets this test.
  if (kind === 'nginx') it('limits sign-in attempts per client address at the auth tier (10/min, burst 10)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) {
      const res = await proxy.request('/v1/auth/login', { method: 'POST', localAddress: '127.0.0.3', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'nobody@example.com', password: 'not the password' }) });
      statuses.push(res.status);
      if (res.status === 429) {
        expect(res.headers['retry-after']).toBe('60');
        expect(JSON.parse(res.body)).toMatchObject({ status: 429, title: 'Too Many Requests', detail: 'Slow down and retry after the time in Retry-After.' });
      }
    }
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(10);
    expect(statuses.slice(0, 10)).not.toContain(429);
    // Another address has its own budget; the API tier is separate from the auth tier.
    expect((await proxy.request('/v1/me', { localAddress: '127.0.0.3' })).status).toBe(401);
  });

  it('passes a WebSocket upgrade through', async () => {
    const { status, echo } = await webSocketEcho(proxy.httpsPort, proxy.caPem, '/test/ws', 'hello over tls');
    expect(status).toMatch(/ 101 /);
    expect(echo).toMatch(new RegExp(`^hello over tls from (${instances.map((i) => i.port).join('|')})$`));
  });

  it('spreads requests over both instances, and loses none when one is killed', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 8, ca: proxy.caPem });
    try {
      const spread = await Promise.all(Array.from({ length: 40 }, () => proxy.request('/test/forwarded', { agent })));
      const ports = spread.map((r) => (JSON.parse(r.body) as { port: number }).port);
      for (const instance of instances) expect(ports.filter((p) => p === instance.port).length, `instance ${instance.port}`).toBeGreaterThanOrEqual(8);

      // Eight clients in a loop; halfway through, one instance is killed outright (no drain).
      const results: number[] = [];
      const failures: string[] = [];
      let running = true;
      const clients = Array.from({ length: 8 }, async () => {
        while (running) {
          try {
            results.push((await proxy.request('/test/items/1', { agent })).status);
          } catch (err) {
            failures.push((err as Error).message);
          }
        }
      });
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      instances[1]!.child.kill('SIGKILL');
      await instances[1]!.exited;
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      running = false;
      await Promise.all(clients);
      const failed = results.filter((s) => s !== 200).length + failures.length;
      process.stdout.write(`${kind}: ${results.length + failures.length} requests while one of two instances was killed, ${failed} failed\n`);
      expect(failures).toEqual([]);
      expect(results.filter((s) => s !== 200)).toEqual([]);
      expect(results.length).toBeGreaterThan(50);
    } finally {
      agent.destroy();
    }
  }, 60_000);
});
