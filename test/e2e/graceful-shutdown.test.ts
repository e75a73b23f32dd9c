import { describe, expect, it } from 'vitest';
import { startRampart } from '../support/rampart-process.js';

describe('graceful shutdown', () => {
  it('on SIGTERM turns readiness 503 at once, finishes in-flight requests, and exits 0', async () => {
    const rampart = await startRampart({ env: { SHUTDOWN_DELAY_MS: '600', SHUTDOWN_GRACE_MS: '10000' } });
    expect((await rampart.request('/readiness')).status).toBe(200);

    const inFlight = Array.from({ length: 8 }, (_, i) => rampart.request(`/test/slow?ms=${1200 + i * 50}`));
    await new Promise((resolve) => setTimeout(resolve, 200));
    rampart.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 100));

    const readiness = await rampart.request('/readiness');
    expect(readiness.status).toBe(503);
    expect(readiness.json()).toMatchObject({ status: 'shutting_down' });

    const results = await Promise.all(inFlight);
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(await rampart.exited).toBe(0);
    expect(rampart.logs.some((l) => l.msg === 'stopped' && l.clean === true)).toBe(true);
  });

  it('exits non-zero when requests outlive the grace period, without hanging', async () => {
    const rampart = await startRampart({ env: { SHUTDOWN_GRACE_MS: '300' } });
    const slow = rampart.request('/test/slow?ms=5000').catch((err: Error) => err);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    rampart.child.kill('SIGTERM');
    expect(await rampart.exited).toBe(1);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(await slow).toBeInstanceOf(Error);
  });
});
