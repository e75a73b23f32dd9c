import { describe, expect, it } from 'vitest';
import { createMemoryStore } from './memory-store.js';

describe('memory store', () => {
  it('is exact to the millisecond: a hit counts for exactly windowMs', async () => {
    let now = 1_000;
    const store = createMemoryStore({ now: () => now });
    expect((await store.hit('k', 1, 60_000)).allowed).toBe(true);
    now += 59_999;
    const refused = await store.hit('k', 1, 60_000);
    expect(refused).toEqual({ allowed: false, limit: 1, remaining: 0, resetMs: 1 });
    now += 1;
    expect(await store.hit('k', 1, 60_000)).toEqual({ allowed: true, limit: 1, remaining: 0, resetMs: 60_000 });
  });

  it('forgets idle keys before evicting live ones when it reaches maxKeys', async () => {
    let now = 0;
    const store = createMemoryStore({ now: () => now, maxKeys: 3 });
    await store.hit('idle', 1, 1_000);
    await store.hit('live-1', 1, 60_000);
    await store.hit('live-2', 1, 60_000);
    now += 1_000;
    await store.hit('new', 1, 60_000);
    expect(store.size()).toBe(3);
    expect((await store.hit('live-1', 1, 60_000)).allowed, 'live keys keep their count').toBe(false);
  });

  it('never holds more than maxKeys keys, dropping the least recently used', async () => {
    const store = createMemoryStore({ now: () => 0, maxKeys: 100 });
    for (let i = 0; i < 1_000; i++) await store.hit(`ip:${i}`, 5, 60_000);
    expect(store.size()).toBe(100);
    expect((await store.hit('ip:999', 1, 60_000)).allowed, 'a recent key is kept').toBe(false);
    expect((await store.hit('ip:0', 1, 60_000)).allowed, 'the oldest key was dropped').toBe(true);
  });
});
