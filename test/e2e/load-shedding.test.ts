import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send, startRampart, type RampartProcess } from '../support/rampart-process.js';

describe('load shedding', () => {
  let rampart: RampartProcess;
  beforeAll(async () => {
    // Any live heap is over one byte: the process is permanently "under pressure".
    rampart = await startRampart({ env: { LOAD_SHED_MAX_HEAP_USED_BYTES: '1', LOAD_SHED_RETRY_AFTER_S: '7' } });
  });
  afterAll(async () => {
    await rampart?.stop();
  });

  it('answers 503 with Retry-After while over the limit', async () => {
    await expect.poll(async () => (await rampart.request('/test/items/1')).status, { timeout: 5_000 }).toBe(503);
    const res = await rampart.request('/test/items/1');
    expect(res.headers['retry-after']).toBe('7');
    expect(res.json()).toMatchObject({ type: '/problems/overloaded', status: 503 });
    expect(res.headers['x-frame-options']).toBe('DENY');
  });

  it('keeps answering health and readiness probes', async () => {
    expect((await rampart.request('/health')).status).toBe(200);
    expect((await rampart.request('/readiness')).status).toBe(200);
  });

  it('counts shed requests in metrics', async () => {
    const metrics = (await send(rampart.metricsUrl)).body;
    expect(metrics).toMatch(/^http_requests_shed_total [1-9]/m);
  });
});
