import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { databaseTargets, type DatabaseTarget } from '../support/databases.js';
import { runCli, send, startRampart, type RampartProcess } from '../support/rampart-process.js';

// Each case starts the built CLI, some of them a server too: generous on a loaded machine.
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

// The public /readiness is for load balancers: overall status and whether each dependency is
// ok. The engine, version, worker counts, secrets providers and the metrics port are for
// operators, on the internal port.

const SECRETS = {
  APP_SECRET: `app-${randomBytes(24).toString('hex')}`,
  FIELD_ENCRYPTION_KEYS: `prod1:${randomBytes(32).toString('base64url')}`,
  API_KEY_PEPPER: `pepper-${randomBytes(24).toString('hex')}`,
  DOCS_PASSWORD: `docs-${randomBytes(12).toString('hex')}`,
};
const PRODUCTION = {
  RAMPART_ENV: 'production',
  FORCE_HTTPS: 'true',
  DOCS_USER: 'docs',
  CORS_ORIGINS: 'https://app.example.com',
  PUBLIC_BASE_URL: 'https://api.example.com',
  ...SECRETS,
};
const secretParts = Object.values(SECRETS).flatMap((v) => [v, v.split(':').at(-1)!]);

const internalReadiness = (rampart: RampartProcess) => send(rampart.metricsUrl.replace(/\/metrics$/, '/readiness'));

const postgres = databaseTargets()[1]!;

describe.skipIf(!postgres.available)('in production (PostgreSQL)', () => {
  let target: DatabaseTarget;
  let rampart: RampartProcess;
  let detailed: RampartProcess | undefined;
  beforeAll(async () => {
    target = await postgres.create();
    const migrated = await runCli(['migrate', 'up'], { ...PRODUCTION, DATABASE_URL: target.url });
    expect(migrated.code, migrated.stderr).toBe(0);
    rampart = await startRampart({ args: ['serve', '--with-worker'], env: { ...PRODUCTION, DATABASE_URL: target.url, RAMPART_DATA_DIR: target.dataDir } });
  });
  afterAll(async () => {
    await rampart?.stop();
    await detailed?.stop();
    await target?.cleanup();
  });

  it('the public /readiness says only the status and whether each dependency is ok', async () => {
    const res = await rampart.request('/readiness');
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    // No BACKUP_RECIPIENTS: production schedules no backup, and readiness says so (degraded, still 200).
    expect(res.json()).toEqual({ status: 'degraded', database: { ok: true }, redis: { ok: true }, secrets: { ok: true }, storage: { ok: true }, backups: { ok: false } });
    const port = new URL(rampart.metricsUrl).port;
    for (const revealing of ['postgres', 'pglite', 'version', 'workers', 'providers', '"env"', 'metrics', port, 'uptime']) expect(res.body).not.toContain(revealing);
  });

  it('the internal port serves the full report', async () => {
    const res = await internalReadiness(rampart);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json<Record<string, unknown>>();
    expect(body).toMatchObject({
      status: 'degraded',
      backups: { configured: false, ok: false },
      database: { configured: true, ok: true, details: 'ok:postgres' },
      secrets: { ok: true, providers: [{ name: 'env', status: 'ok' }, { name: 'file', status: 'ok' }] },
      workers: { alive: expect.any(Number) },
      observability: { metrics: { enabled: true, port: Number(new URL(rampart.metricsUrl).port) } },
      version: expect.any(String),
      uptime_s: expect.any(Number),
    });
  });

  it('READINESS_DETAIL=full gives the public port the full report again', async () => {
    detailed = await startRampart({ env: { ...PRODUCTION, DATABASE_URL: target.url, READINESS_DETAIL: 'full' } });
    const body = (await detailed.request('/readiness')).json<Record<string, unknown>>();
    expect(body).toMatchObject({ database: { details: 'ok:postgres' }, version: expect.any(String) });
  });

  it('no secret value in either report', async () => {
    const outputs = [(await rampart.request('/readiness')).body, (await internalReadiness(rampart)).body];
    for (const output of outputs) for (const secret of secretParts) expect(output).not.toContain(secret);
  });
});

describe('in development (embedded)', () => {
  let full: RampartProcess;
  let minimal: RampartProcess;
  beforeAll(async () => {
    [full, minimal] = await Promise.all([startRampart(), startRampart({ env: { READINESS_DETAIL: 'minimal' } })]);
  });
  afterAll(async () => {
    await Promise.all([full?.stop(), minimal?.stop()]);
  });

  it('the public /readiness is full by default, and minimal with READINESS_DETAIL=minimal', async () => {
    expect((await full.request('/readiness')).json()).toMatchObject({ database: { details: 'ok:pglite' }, workers: expect.any(Object), version: expect.any(String) });
    expect((await minimal.request('/readiness')).json()).toEqual({ status: 'ok', database: { ok: true }, redis: { ok: true }, secrets: { ok: true }, storage: { ok: true }, backups: { ok: true } });
    expect((await internalReadiness(minimal)).json()).toMatchObject({ database: { details: 'ok:pglite' }, version: expect.any(String) });
  });

  it('READINESS_DETAIL takes only full or minimal', async () => {
    const bad = await runCli(['config'], { READINESS_DETAIL: 'some' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/READINESS_DETAIL: expected one of full, minimal/);
  });
});
