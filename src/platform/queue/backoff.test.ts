import { describe, expect, it } from 'vitest';
import { retryDelayMs } from './backoff.js';

describe('retry backoff', () => {
  it('doubles per attempt between half and all of the exponential delay', () => {
    expect([1, 2, 3, 4].map((attempt) => retryDelayMs(attempt, 1_000, 60_000, () => 0))).toEqual([500, 1_000, 2_000, 4_000]);
    expect([1, 2, 3, 4].map((attempt) => retryDelayMs(attempt, 1_000, 60_000, () => 1))).toEqual([1_000, 2_000, 4_000, 8_000]);
  });

  it('is capped, and jitter spreads retries of jobs that failed together', () => {
    expect(retryDelayMs(30, 1_000, 60_000, () => 1)).toBe(60_000);
    const delays = new Set(Array.from({ length: 50 }, () => retryDelayMs(5, 1_000, 60_000)));
    expect(delays.size).toBeGreaterThan(40);
    for (const delay of delays) expect(delay).toBeGreaterThanOrEqual(8_000);
  });
});
