import { describe, expect, it } from 'vitest';
import { pressureGauge } from './load-shedding.js';

const blockEventLoop = (ms: number) => {
  const until = Date.now() + ms;
  while (Date.now() < until) { /* a synchronous hog, like a runaway JSON.parse */ }
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('pressureGauge', () => {
  it('reports overload after the event loop is blocked longer than the limit, and recovers', async () => {
    const gauge = pressureGauge({ maxEventLoopDelayMs: 100, maxHeapUsedBytes: 0, sampleIntervalMs: 20 });
    gauge.start();
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
    const gauge = pressureGauge({ maxEventLoopDelayMs: 0, maxHeapUsedBytes: 0, sampleIntervalMs: 20 });
    gauge.start();
    blockEventLoop(150);
    await sleep(50);
    expect(gauge.overloaded()).toBe(false);
    gauge.stop();
  });

  it('counts nothing from before it was started: a slow start-up is not overload', async () => {
    const gauge = pressureGauge({ maxEventLoopDelayMs: 100, maxHeapUsedBytes: 0, sampleIntervalMs: 20 });
    try {
      // Building the app, say, on a busy machine; then the server listens and starts the gauge.
      blockEventLoop(300);
      gauge.start();
      await sleep(60);
      expect(gauge.overloaded()).toBe(false);
      expect(gauge.eventLoopDelayMs()).toBeLessThan(100);
    } finally {
      gauge.stop();
    }
  });
});
