import { getHeapStatistics } from 'node:v8';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { pathOf, PROBE_PATHS } from './probe-paths.js';
import { sendProblem } from './problem.js';

export interface PressureLimits {
  /** 0 disables. */
  maxEventLoopDelayMs: number;
  /** 0 disables. */
  maxHeapUsedBytes: number;
  sampleIntervalMs?: number;
}

export interface PressureGauge {
  overloaded(): boolean;
  eventLoopDelayMs(): number;
  /** Begins sampling; until then the gauge reads no pressure. */
  start(): void;
  stop(): void;
}

// Pressure is judged over the last ten samples (one second by default), so one late
// timer tick keeps shedding long enough for the backlog it caused to drain.
const WINDOW_SAMPLES = 10;

/**
 * Samples pressure on a timer so the per-request check is one boolean read. Event-loop
 * delay is measured as timer drift: a loop blocked for 300 ms fires a 100 ms timer 300 ms late.
 * The server starts it once it listens: building the app (plugins, routes) blocks the loop for
 * a while, longer on a busy machine, and counting that would shed the first requests a new
 * instance gets, just when a rolling restart sends it traffic.
 */
export function pressureGauge(limits: PressureLimits): PressureGauge {
  const interval = limits.sampleIntervalMs ?? 100;
  const samples: number[] = [];
  let delayMs = 0;
  let overloaded = false;
  let timer: NodeJS.Timeout | undefined;
  const sample = (expected: number) => {
    const now = performance.now();
    samples.push(Math.max(0, now - expected));
    if (samples.length > WINDOW_SAMPLES) samples.shift();
    delayMs = Math.max(...samples);
    const loopTooSlow = limits.maxEventLoopDelayMs > 0 && delayMs > limits.maxEventLoopDelayMs;
    const heapTooBig = limits.maxHeapUsedBytes > 0 && getHeapStatistics().used_heap_size > limits.maxHeapUsedBytes;
    overloaded = loopTooSlow || heapTooBig;
    return now + interval;
  };
  return {
    overloaded: () => overloaded,
    eventLoopDelayMs: () => delayMs,
    start() {
      if (timer) return;
      let expected = performance.now() + interval;
      timer = setInterval(() => void (expected = sample(expected)), interval);
      timer.unref();
    },
    stop: () => clearInterval(timer),
  };
}

export interface LoadSheddingOptions {
  gauge: PressureGauge;
  retryAfterS: number;
  onShed(): void;
}

export const loadShedding = fp(
  async (app: FastifyInstance, options: LoadSheddingOptions) => {
    const retryAfter = String(options.retryAfterS);
    app.addHook('onRequest', (request, reply, done) => {
      if (!options.gauge.overloaded() || PROBE_PATHS.has(pathOf(request.url))) return done();
      options.onShed();
      reply.header('retry-after', retryAfter);
      sendProblem(reply, 503, 'overloaded', `The server is overloaded; retry after ${retryAfter} seconds.`);
    });
  },
  { name: 'rampart-load-shedding' },
);
