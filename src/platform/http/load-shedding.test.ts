import { describe, expect, it } from 'vitest';
import { watchPressure } from './load-shedding.js';

const blockEventLoop = (ms: number) => {
  const until = Date.now() + ms;
  while (Date.now() < until) { /* a synchronous hog, like a runaway JSON.parse */ }
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('watchPressure', () => {
  it('reports overload after the event loop is blocked longer than the limit, and recovers', async () => {
    const gauge = watchPressure({ maxEventLoopDelayMs: 100, maxHeapUsedBytes: 0, sampleIntervalMs: 20 });
    try {
      await sleep(60);
      expect(gauge.overloaded()).toBe(false);
      blockEventLoop(300);
      await sleep(30);
      expect(gauge.overloaded()).toBe(true);
      expect(gauge.eventLoopDelayMs()).toBeGreaterThan(100);
      await sleep(400);
      expect(gauge.overloaded()).toBe(false);
    } finally {
      gauge.stop();
    }
  });

  it('never reports overload when both limits are disabled', async () => {
    const gauge = watchPressure({ maxEventLoopDelayMs: 0, maxHeapUsedBytes: 0, sampleIntervalMs: 20 });
    blockEventLoop(150);
    await sleep(50);
    expect(gauge.overloaded()).toBe(false);
    gauge.stop();
  });
});
