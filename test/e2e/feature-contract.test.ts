import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveRuntime } from '../../src/cli/bootstrap.js';
import { defineFeature, type Platform } from '../../src/feature.js';
import { startRampart, type Rampart } from '../../src/main.js';

// One feature that uses every part of the contract, started in-process on the embedded
// database: what a new capability gets by adding one line to main.ts's list.
describe('a feature defined with defineFeature', () => {
  const events: string[] = [];
  const ranJobs: unknown[] = [];
  let platform: Platform | undefined;
  let rampart: Rampart;
  let dataDir: string;

  const probeFeature = defineFeature({
    name: 'probe',
    start(given) {
      platform = given;
      events.push(`start web=${given.roles.web} worker=${given.roles.worker}`);
      return {
        routes: [async (app) => {
          app.get('/v1/probe', async () => ({ probe: 'ok' }));
          app.post('/v1/probe/jobs', async (_request, reply) => {
            await given.queue.enqueue(given.db, 'probe.record', { at: 'request' });
            return reply.code(202).send({ queued: true });
          });
        }],
        jobs: [{ type: 'probe.record', run: async (payload) => void ranJobs.push(payload) }],
        schedules: [{ name: 'probe.tick', everyMs: 1_000, run: async () => void events.push('scheduled run') }],
        readiness: [{ name: 'probe_dependency', critical: false, check: async () => ({ configured: true, ok: false, details: 'error: probe says no' }) }],
        metrics: (metrics) => metrics.gauge('probe_widgets', 'Widgets the probe feature holds.', [], (set) => set({}, 42)),
        onSecretsChange: (changed) => void events.push(`secrets changed: [${changed.join(',')}]`),
        close: async () => void events.push('close'),
      };
    },
  });

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'rampart-feature-'));
    // Shedding off: the embedded database compiles on this test's own event loop, on a busy machine.
    const { config, secrets } = await resolveRuntime({ RAMPART_DATA_DIR: dataDir, PORT: '0', METRICS_PORT: '0', LOG_LEVEL: 'silent', JOB_POLL_INTERVAL_MS: '50', LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0' });
    rampart = await startRampart(config, { web: true, worker: true, extensions: [probeFeature], secrets });
  }, 60_000);

  afterAll(async () => {
    await rampart?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('is started once with the platform and both roles of `npm start`', () => {
    expect(events[0]).toBe('start web=true worker=true');
    expect(platform?.config.port).toBe(0);
  });

  it('serves its routes behind the platform\'s hardening (security headers, correlation id)', async () => {
    const response = await fetch(`${rampart.urls.api}/v1/probe`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ probe: 'ok' });
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-correlation-id')).toBeTruthy();
  });

  it('adds its readiness entry: an optional dependency that fails makes the instance degraded, not unavailable', async () => {
    const response = await fetch(`${rampart.urls.api}/readiness`);
    const body = (await response.json()) as Record<string, unknown>;
    expect(response.status).toBe(200);
    expect(body.status).toBe('degraded');
    expect(body.probe_dependency).toEqual({ configured: true, ok: false, details: 'error: probe says no' });
  });

  it('registers its metrics on the internal port', async () => {
    const text = await (await fetch(rampart.urls.metrics)).text();
    expect(text).toMatch(/^probe_widgets 42$/m);
  });

  it('has its job types run by the worker', async () => {
    expect((await fetch(`${rampart.urls.api}/v1/probe/jobs`, { method: 'POST' })).status).toBe(202);
    await expect.poll(() => ranJobs, { timeout: 10_000 }).toEqual([{ at: 'request' }]);
  });

  it('runs its schedules on the elected leader', async () => {
    await expect.poll(() => events.includes('scheduled run'), { timeout: 20_000 }).toBe(true);
  });

  it('hears about a secrets refresh (SIGHUP), even when nothing changed', async () => {
    await rampart.refreshSecrets();
    expect(events).toContain('secrets changed: []');
  });

  it('is closed after the server has stopped', async () => {
    const api = rampart.urls.api!;
    await rampart.stop();
    expect(events.at(-1)).toBe('close');
    await expect(fetch(`${api}/v1/probe`)).rejects.toThrow();
  });
});
