import { describe, expect, it } from 'vitest';
import { retryThrottled } from './throttle-retry.js';

const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });

describe('retryThrottled', () => {
  it('waits a jittered, doubling delay after each throttling error, then succeeds', async () => {
    const waits: number[] = [];
    let calls = 0;
    const result = await retryThrottled(async () => {
      calls++;
      if (calls <= 3) throw throttled();
      return 'loaded';
    }, { attempts: 6, baseDelayMs: 100, maxDelayMs: 250, sleep: async (ms) => { waits.push(ms); }, random: () => 0.5 });
    expect(result).toBe('loaded');
    expect(calls).toBe(4);
    // Full jitter: random × min(max, base·2^n) → 0.5 × 100, 200, 250 (capped).
    expect(waits).toEqual([50, 100, 125]);
  });

  it('gives up after the last attempt with the throttling error', async () => {
    let calls = 0;
    await expect(retryThrottled(async () => {
      calls++;
      throw throttled();
    }, { attempts: 3, baseDelayMs: 1, maxDelayMs: 1, sleep: async () => {} })).rejects.toThrow('Rate exceeded');
    expect(calls).toBe(3);
  });

  it('does not retry other errors', async () => {
    let calls = 0;
    await expect(retryThrottled(async () => {
      calls++;
      throw Object.assign(new Error('denied'), { name: 'AccessDeniedException' });
    }, { attempts: 5, baseDelayMs: 1, maxDelayMs: 1, sleep: async () => {} })).rejects.toThrow('denied');
    expect(calls).toBe(1);
  });
});
