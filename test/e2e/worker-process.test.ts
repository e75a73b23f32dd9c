import { describe, expect, it } from 'vitest';
import { databaseTargets } from '../support/databases.js';
import { send, startRampart } from '../support/rampart-process.js';

const postgres = databaseTargets()[1]!;

describe('rampart worker as its own process', () => {
  it.skipIf(!postgres.available)('answers /health on its metrics port and is counted by the web process, then leaves cleanly', async () => {
    const target = await postgres.create();
    try {
      const env = { DATABASE_URL: target.url };
      const web = await startRampart({ env });
      const worker = await startRampart({ env, args: ['worker'], expectExit: true });
      try {
        const ready = await worker.waitForLog((l) => l.msg === 'listening' || /worker started/.test(l.msg), 30_000);
        expect(ready.msg).toMatch(/worker started/);
        await expect.poll(() => worker.stderr(), { timeout: 10_000 }).toMatch(/metrics\s+http:\/\/127\.0\.0\.1:\d+\/metrics/);
        const metricsUrl = /(http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(worker.stderr())![1]!;
        expect((await send(`${metricsUrl}/health`)).status).toBe(200);
        await expect.poll(async () => (await web.request('/readiness')).json<{ workers: { alive: number } }>().workers.alive, { timeout: 10_000 }).toBe(1);
        expect(await worker.stop()).toBe(0);
        await expect.poll(async () => (await web.request('/readiness')).json<{ workers: { alive: number } }>().workers.alive, { timeout: 10_000 }).toBe(0);
      } finally {
        await worker.stop();
        await web.stop();
      }
    } finally {
      await target.cleanup();
    }
  });
});
