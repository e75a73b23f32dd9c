import autocannon from 'autocannon';
import { afterAll, describe, expect, it } from 'vitest';
import { databaseTargets, type DatabaseTarget } from '../support/databases.js';
import { startRampart, type RampartProcess } from '../support/rampart-process.js';
import { freePort, SITE, startNginx, type RunningProxy } from '../support/reverse-proxy.js';
import { createTestAuthority } from '../support/test-certificates.js';

// EDGE-7 under a real rollout: three instances behind the shipped nginx configuration, under
// continuous keep-alive load, each stopped (SIGTERM) and started again in turn.
// The figures are printed: `npx vitest run test/e2e/rolling-restart.test.ts`.
const postgres = databaseTargets().find((t) => t.name === 'postgres')!;

describe.skipIf(!postgres.available)('rolling restart behind nginx', () => {
  let target: DatabaseTarget | undefined;
  let proxy: RunningProxy | undefined;
  const instances: RampartProcess[] = [];
  afterAll(async () => {
    await proxy?.stop();
    await Promise.all(instances.map((i) => i.stop()));
    await target?.cleanup();
  });

  it('restarts three instances one after another under load with 0 failed requests', async () => {
    target = await postgres.create();
    const ports = [await freePort(), await freePort(), await freePort()];
    const envFor = (port: number) => ({
      DATABASE_URL: target!.url,
      RAMPART_DATA_DIR: target!.dataDir,
      PORT: String(port),
      FORCE_HTTPS: 'true',
      TRUSTED_PROXIES: '127.0.0.1/32',
      MIGRATE_ON_START: 'true',
      // As in production: serve on with readiness 503 and Connection: close before closing.
      SHUTDOWN_DELAY_MS: '2000',
    });
    for (const port of ports) instances.push(await startRampart({ env: envFor(port) }));
    const authority = await createTestAuthority('Rampart rolling restart CA');
    proxy = await startNginx({ authority, upstreams: ports.map((p) => `127.0.0.1:${p}`), docs: { user: 'docs', password: 'unused-here' }, rateLimitExempt: ['127.0.0.1'] });

    // autocannon does not verify certificates; the proxy tests do.
    let load!: autocannon.Instance;
    const finished = new Promise<autocannon.Result>((resolve, reject) => {
      load = autocannon({
        url: `https://127.0.0.1:${proxy!.httpsPort}`,
        servername: SITE,
        headers: { host: SITE },
        // GETs, which nginx may retry on another instance, and POSTs, which it may not once sent.
        requests: [
          { method: 'GET', path: '/test/items/1' },
          { method: 'POST', path: '/test/echo', headers: { host: SITE, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'rolling', age: 1 }) },
        ],
        connections: 8,
        duration: 600,
      }, (err, result) => (err ? reject(err) : resolve(result)));
    });
    const statuses = new Map<number, number>();
    load.on('response', (_client, statusCode) => statuses.set(statusCode, (statuses.get(statusCode) ?? 0) + 1));
    const answered = () => [...statuses.values()].reduce((a, b) => a + b, 0);

    const restarts: string[] = [];
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    for (let i = 0; i < instances.length; i++) {
      const before = answered();
      const started = Date.now();
      expect(await instances[i]!.stop('SIGTERM')).toBe(0);
      instances[i] = await startRampart({ env: envFor(ports[i]!) });
      // The next one goes once nginx sends this one traffic again (after its 5 s fail_timeout).
      await instances[i]!.waitForLog((l) => l.msg === 'request completed' && l.path === '/test/echo', 30_000);
      restarts.push(`instance ${i + 1} (port ${ports[i]}) back in rotation ${((Date.now() - started) / 1000).toFixed(1)} s after SIGTERM, ${answered() - before} requests meanwhile`);
    }
    load.stop();
    const result = await finished;

    const failed = result.errors + result.timeouts + result.non2xx;
    process.stdout.write([
      'rolling restart of 3 instances behind nginx, 8 keep-alive connections, GET and POST:',
      ...restarts.map((line) => `  ${line}`),
      `  requests answered: ${answered()} (${[...statuses].map(([code, n]) => `${code}: ${n}`).join(', ')})`,
      `  failed: ${failed} (errors ${result.errors}, timeouts ${result.timeouts}, non-2xx ${result.non2xx}, resets ${result.resets})`,
      '',
    ].join('\n'));
    expect({ errors: result.errors, timeouts: result.timeouts, non2xx: result.non2xx }).toEqual({ errors: 0, timeouts: 0, non2xx: 0 });
    expect(answered()).toBeGreaterThan(500);
  }, 300_000);
});
