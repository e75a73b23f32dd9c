import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryStore } from './memory-store.js';
import { createRedisStore } from './redis-store.js';
import type { RateLimitStore } from './store.js';

// The same behaviour from both stores. The memory store runs on a controllable clock; the
// Redis store times hits with the server's clock, so there `advance` really waits.
interface StoreUnderTest {
  name: string;
  available: boolean;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** A store with fresh keys for one test. */
  fresh(): RateLimitStore;
  advance(ms: number): Promise<void>;
}

const redisUrl = process.env.TEST_REDIS_URL;
if (!redisUrl && process.env.CI === 'true') throw new Error('TEST_REDIS_URL is required in CI');

let clock = 0;
let redis: Redis | undefined;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const stores: StoreUnderTest[] = [
  {
    name: 'memory',
    available: true,
    setup: async () => {},
    teardown: async () => {},
    fresh: () => createMemoryStore({ now: () => clock }),
    advance: async (ms) => {
      clock += ms;
    },
  },
  {
    name: 'redis',
    available: redisUrl !== undefined,
    setup: async () => {
      redis = new Redis(redisUrl!, { enableAutoPipelining: true });
    },
    teardown: async () => {
      redis?.disconnect();
    },
    fresh: () => createRedisStore({ client: redis!, prefix: `rampart-test:${randomUUID()}:` }),
    advance: sleep,
  },
];

describe.each(stores)('sliding-window log in the $name store', (target) => {
  beforeAll(async () => {
    if (target.available) await target.setup();
  });
  afterAll(() => target.teardown());

  it('allows exactly `limit` hits in a window, counting remaining down, then refuses', async (ctx) => {
    ctx.skip(!target.available, 'skipped: no Redis');
    const store = target.fresh();
    const decisions = [];
    for (let i = 0; i < 6; i++) decisions.push(await store.hit('k', 5, 60_000));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, true, false]);
    expect(decisions.map((d) => d.remaining)).toEqual([4, 3, 2, 1, 0, 0]);
    expect(decisions.every((d) => d.limit === 5)).toBe(true);
    const refused = decisions[5]!;
    expect(refused.resetMs).toBeGreaterThan(59_000);
    expect(refused.resetMs).toBeLessThanOrEqual(60_000);
  });

  it('keeps keys apart', async (ctx) => {
    ctx.skip(!target.available, 'skipped: no Redis');
    const store = target.fresh();
    expect((await store.hit('a', 1, 60_000)).allowed).toBe(true);
    expect((await store.hit('a', 1, 60_000)).allowed).toBe(false);
    expect((await store.hit('b', 1, 60_000)).allowed).toBe(true);
  });

  it('frees room only when the oldest hit leaves the window, and Retry-After says when', async (ctx) => {
    ctx.skip(!target.available, 'skipped: no Redis');
    const store = target.fresh();
    const window = 1_500;
    expect((await store.hit('k', 2, window)).allowed).toBe(true);
    await target.advance(600);
    expect((await store.hit('k', 2, window)).allowed).toBe(true);
    const refused = await store.hit('k', 2, window);
    expect(refused.allowed).toBe(false);
    // The first hit leaves ~900 ms from now; the second, 600 ms later.
    expect(refused.resetMs).toBeGreaterThan(500);
    expect(refused.resetMs).toBeLessThanOrEqual(900);

    await target.advance(Math.max(0, refused.resetMs - 250));
    expect((await store.hit('k', 2, window)).allowed, 'still inside the window').toBe(false);
    await target.advance(300);
    const reopened = await store.hit('k', 2, window);
    expect(reopened.allowed).toBe(true);
    expect(reopened.remaining).toBe(0);
    expect((await store.hit('k', 2, window)).allowed, 'only one slot was freed').toBe(false);
  });

  it('does not record refused hits, so hammering a full window does not extend it', async (ctx) => {
    ctx.skip(!target.available, 'skipped: no Redis');
    const store = target.fresh();
    const window = 1_000;
    await store.hit('k', 1, window);
    for (let i = 0; i < 5; i++) {
      await target.advance(150);
      expect((await store.hit('k', 1, window)).allowed).toBe(false);
    }
    await target.advance(300);
    expect((await store.hit('k', 1, window)).allowed).toBe(true);
  });

  it('gives exactly `limit` of many concurrent hits', async (ctx) => {
    ctx.skip(!target.available, 'skipped: no Redis');
    const store = target.fresh();
    const decisions = await Promise.all(Array.from({ length: 200 }, () => store.hit('k', 100, 60_000)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(100);
    expect(decisions.filter((d) => !d.allowed)).toHaveLength(100);
    expect(decisions.filter((d) => d.allowed && d.remaining === 0)).toHaveLength(1);
  });

  it('after a limit is lowered, waits until enough old hits have left', async (ctx) => {
    ctx.skip(!target.available, 'skipped: no Redis');
    const store = target.fresh();
    const window = 2_000;
    await store.hit('k', 3, window);
    await target.advance(400);
    await store.hit('k', 3, window);
    await store.hit('k', 3, window);
    // Three hits are logged; with a limit of 2, room comes when the second one leaves.
    const refused = await store.hit('k', 2, window);
    expect(refused.allowed).toBe(false);
    expect(refused.resetMs).toBeGreaterThan(1_400);
    expect(refused.resetMs).toBeLessThanOrEqual(2_000);
  });

  it('charges a request to every limit when all have room, and to none when one is full', async (ctx) => {
    ctx.skip(!target.available, 'skipped: no Redis');
    const store = target.fresh();
    const request = () => store.hitAll([{ key: 'global:ip:1', limit: 5, windowMs: 60_000 }, { key: 'general:ip:1', limit: 2, windowMs: 60_000 }]);
    const first = await request();
    expect(first.map((d) => [d.allowed, d.remaining])).toEqual([[true, 4], [true, 1]]);
    await request();
    const refused = await request();
    expect(refused.map((d) => d.allowed), 'general is full').toEqual([true, false]);
    expect(refused[0]!.remaining, 'the refused request did not use the global budget').toBe(3);
    expect(refused[1]!.resetMs).toBeGreaterThan(59_000);
    const [global] = await store.hitAll([{ key: 'global:ip:1', limit: 5, windowMs: 60_000 }]);
    expect(global!.remaining).toBe(2);
  });

  it('decides concurrent multi-limit requests exactly, each limit counting down in arrival order', async (ctx) => {
    ctx.skip(!target.available, 'skipped: no Redis');
    const store = target.fresh();
    const requests = Array.from({ length: 30 }, (_, i) => store.hitAll([
      { key: `global:ip:${i % 2}`, limit: 100, windowMs: 60_000 },
      { key: `general:ip:${i % 2}`, limit: 10, windowMs: 60_000 },
    ]));
    const decisions = await Promise.all(requests);
    for (const ip of [0, 1]) {
      const mine = decisions.filter((_, i) => i % 2 === ip);
      expect(mine.map(([, general]) => general!.allowed)).toEqual([...Array(10).fill(true), ...Array(5).fill(false)]);
      expect(mine.slice(0, 10).map(([global]) => global!.remaining)).toEqual(Array.from({ length: 10 }, (_, i) => 99 - i));
      expect(mine.slice(10).every(([global]) => global!.remaining === 90)).toBe(true);
    }
  });
});
