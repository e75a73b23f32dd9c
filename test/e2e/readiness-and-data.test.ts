import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseTargets, type DatabaseTarget } from '../support/databases.js';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres.js';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, runCli, send, startRampart, type RampartProcess } from '../support/rampart-process.js';

const DOCS_PASSWORD = 'docs-password-never-shown';
const APP_SECRET = 'app-secret-never-shown-0123456789abcdef';

describe.each(databaseTargets())('on $name', (factory) => {
  describe.skipIf(!factory.available)('readiness, worker and migrations', () => {
    let target: DatabaseTarget;
    let rampart: RampartProcess;
    let databaseUrl: string | undefined;
    beforeAll(async () => {
      target = await factory.create();
      // Trust auth ignores the password, so a URL carrying one still connects: it lets the
      // test prove the password never reaches any output.
      databaseUrl = target.url && withPassword(target.url, 'db-password-never-shown');
      rampart = await startRampart({
        args: ['serve', '--with-worker', '--plugin', 'test/fixtures/test-routes.mjs'],
        env: { RAMPART_DATA_DIR: target.dataDir, DATABASE_URL: databaseUrl, DOCS_USER: 'docs', DOCS_PASSWORD, APP_SECRET, REDIS_URL: process.env.TEST_REDIS_URL },
      });
    });
    afterAll(async () => {
      await rampart?.stop();
      await target?.cleanup();
    });

    it('reports each dependency in /readiness', async () => {
      // Just started, on a loaded machine, a check may miss its 1.5 s bound once (the worker
      // takes its first backup meanwhile): degraded for a moment is readiness telling the truth.
      let res = await rampart.request('/readiness');
      for (const until = Date.now() + 15_000; res.json<{ status: string }>().status !== 'ok' && Date.now() < until; ) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        res = await rampart.request('/readiness');
      }
      expect(res.status).toBe(200);
      const body = res.json();
      expect(body, JSON.stringify(body)).toMatchObject({
        status: 'ok',
        database: { configured: true, ok: true, details: `ok:${factory.name}` },
        observability: { log_json: true, metrics: { enabled: true }, sentry: { configured: false }, otel: { configured: false } },
        version: expect.any(String),
        uptime_s: expect.any(Number),
      });
      if (process.env.TEST_REDIS_URL) expect(body.redis).toEqual({ configured: true, ok: true, details: 'ok:standalone' });
      else expect(body.redis).toMatchObject({ configured: false });
      expect(res.headers['cache-control']).toBe('no-store');
    });

    it('counts the in-process worker as alive', async () => {
      const body = (await rampart.request('/readiness')).json<{ workers: { alive: number; stale: number } }>();
      expect(body.workers.alive).toBeGreaterThanOrEqual(1);
      expect(body.workers.stale).toBe(0);
    });

    it('keeps every secret value out of readiness, logs and metrics', async () => {
      await rampart.request('/test/boom');
      await rampart.request('/readiness');
      await rampart.waitForLog((l) => l.msg === 'unhandled error');
      const outputs = [(await rampart.request('/readiness')).body, rampart.stdout(), rampart.stderr(), (await send(rampart.metricsUrl)).body];
      for (const output of outputs) {
        for (const secret of [DOCS_PASSWORD, APP_SECRET, 'db-password-never-shown']) expect(output).not.toContain(secret);
      }
      // The fixture's error message carried the docs password; it was logged, scrubbed.
      expect(rampart.stdout()).toMatch(/database exploded: connection to postgres:\/\/app:\[redacted\]@db/);
    });

    // Six CLI processes, each opening the database: 21–27 s for PGlite on a loaded 2-core machine.
    it('shows applied migrations through the CLI, and reverts and re-applies them', async () => {
      await rampart.stop();
      const env = { RAMPART_DATA_DIR: target.dataDir, DATABASE_URL: databaseUrl };
      const status = await runCli(['migrate', 'status'], env);
      expect(status.code).toBe(0);
      // Every shipped migration is applied at start; the newest is the one `down` reverts.
      const shipped = readdirSync(join(repoRoot, 'migrations')).filter((f) => f.endsWith('.up.sql')).map((f) => f.replace('.up.sql', '')).sort();
      const newest = shipped.at(-1)!;
      for (const name of shipped) expect(status.stdout).toMatch(new RegExp(`applied\\s+${name}`));
      expect(status.stdout).toMatch(new RegExp(`${shipped.length} applied, 0 pending`));
      const down = await runCli(['migrate', 'down'], env);
      expect(down.stdout).toMatch(new RegExp(`reverted ${newest}`));
      expect((await runCli(['migrate', 'status'], env)).stdout).toMatch(new RegExp(`pending\\s+${newest}`));
      const up = await runCli(['migrate', 'up'], env);
      expect(up.code).toBe(0);
      expect(up.stdout).toMatch(new RegExp(`applied ${newest}`));
      expect((await runCli(['migrate', 'up'], env)).stdout).toMatch(/already up to date/);
      for (const out of [status, down, up]) expect(out.stdout + out.stderr).not.toContain('db-password-never-shown');
    }, 120_000);
  });
});

describe('a database that goes away', () => {
  const postgresAvailable = databaseTargets()[1]!.available;
  let pg: PrivatePostgres;
  let rampart: RampartProcess;
  beforeAll(async () => {
    if (!postgresAvailable) return;
    pg = await startPrivatePostgres();
    rampart = await startRampart({ env: { DATABASE_URL: pg.url, DATABASE_CONNECT_TIMEOUT_MS: '500' } });
  });
  afterAll(async () => {
    await rampart?.stop();
    await pg?.destroy();
  });

  it.skipIf(!postgresAvailable)('turns readiness 503 while Postgres is down, keeps serving, and recovers by itself', async () => {
    expect((await rampart.request('/readiness')).status).toBe(200);
    await pg.stop();
    const down = await rampart.request('/readiness');
    expect(down.status).toBe(503);
    expect(down.json()).toMatchObject({ status: 'unavailable', database: { configured: true, ok: false } });
    expect((await rampart.request('/health')).status).toBe(200);
    expect((await rampart.request('/test/items/1')).status).toBe(200);
    // A request that needs the database: the outage, said as one, not a 500.
    const query = await rampart.request('/test/kysely');
    expect(query.status).toBe(503);
    expect(query.headers['retry-after']).toBe('5');
    expect(query.json()).toMatchObject({ type: '/problems/database-unavailable', status: 503 });
    expect(await rampart.waitForLog((l) => l.msg === 'dependency unavailable' && l.correlation_id === query.headers['x-correlation-id'])).toMatchObject({ level: 'error', reason: 'ECONNREFUSED' });
    await pg.start();
    await expect.poll(async () => (await rampart.request('/readiness')).status, { timeout: 10_000, interval: 250 }).toBe(200);
    expect((await rampart.request('/test/kysely')).status).toBe(200);
    expect(rampart.child.exitCode).toBeNull();
  });
});

function withPassword(url: string, password: string): string {
  const parsed = new URL(url);
  parsed.password = password;
  return parsed.toString();
}
