import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateRedis, type PrivateRedis } from '../../../test/support/private-redis.js';
import { createRedisStore } from './redis-store.js';

const redisUrl = process.env.TEST_REDIS_URL;
if (!redisUrl && process.env.CI === 'true') throw new Error('TEST_REDIS_URL is required in CI');

describe('redis store', () => {
  const clients: Redis[] = [];
  const connect = (url = redisUrl!) => {
    const client = new Redis(url, { enableAutoPipelining: true });
    clients.push(client);
    return client;
  };
  afterAll(() => clients.forEach((c) => c.disconnect()));

  it('shares one budget between instances: 150 hits round-robin over three give exactly 100', async (ctx) => {
    ctx.skip(!redisUrl, 'skipped: no Redis');
    const prefix = `rampart-test:${randomUUID()}:`;
    const instances = [connect(), connect(), connect()].map((client) => createRedisStore({ client, prefix }));
    const decisions = await Promise.all(Array.from({ length: 150 }, (_, i) => instances[i % 3]!.hit('api:user:1', 100, 60_000)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(100);
    expect(decisions.filter((d) => !d.allowed)).toHaveLength(50);
  });

  it('keeps a log and a counter per limit under the prefix, hash-tagged by identity, expiring with the window', async (ctx) => {
    ctx.skip(!redisUrl, 'skipped: no Redis');
    const client = connect();
    const prefix = `rampart-test:${randomUUID()}:`;
    const store = createRedisStore({ client, prefix });
    await store.hit('auth:ip:203.0.113.9', 10, 60_000);
    await store.hit('auth:ip:203.0.113.9', 10, 60_000);
    const key = `${prefix}rl:auth:{ip:203.0.113.9}`;
    expect((await client.keys(`${prefix}*`)).sort()).toEqual([key, `${key}:n`]);
    expect(await client.type(key)).toBe('zset');
    expect(await client.zcard(key), 'two batches, one entry each').toBe(2);
    // The counter: the count, then the oldest entry's time, which is the log's first score.
    const [oldestMember, oldestScore] = await client.zrange(key, 0, 0, 'WITHSCORES');
    expect(oldestMember).toMatch(/^1:/);
    expect(await client.get(`${key}:n`)).toBe(`2:${oldestScore}`);
    for (const k of [key, `${key}:n`]) {
      const ttl = await client.pttl(k);
      expect(ttl).toBeGreaterThan(59_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
    }
    // Scores are the Redis server's clock (µs), not the instance's.
    const [seconds] = await client.time();
    const [, score] = await client.zrange(key, 0, 0, 'WITHSCORES');
    expect(Math.abs(Number(score) / 1e6 - Number(seconds))).toBeLessThan(5);
  });

  it('records the hits a batch admits as one weighted entry, and counts them exactly', async (ctx) => {
    ctx.skip(!redisUrl, 'skipped: no Redis');
    const client = connect();
    const prefix = `rampart-test:${randomUUID()}:`;
    const store = createRedisStore({ client, prefix });
    const decisions = await Promise.all(Array.from({ length: 2_500 }, () => store.hit('global:ip:192.0.2.1', 2_400, 60_000)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(2_400);
    expect(decisions.slice(0, 2_400).map((d) => d.remaining)).toEqual(Array.from({ length: 2_400 }, (_, i) => 2_399 - i));
    const key = `${prefix}rl:global:{ip:192.0.2.1}`;
    expect(await client.zrange(key, 0, -1)).toEqual([expect.stringMatching(/^2400:/)]);
    expect(await client.get(`${key}:n`)).toMatch(/^2400:\d+$/);
  });

  it('counts the log itself when its counter is lost (e.g. evicted)', async (ctx) => {
    ctx.skip(!redisUrl, 'skipped: no Redis');
    const client = connect();
    const prefix = `rampart-test:${randomUUID()}:`;
    const store = createRedisStore({ client, prefix });
    for (let i = 0; i < 3; i++) await store.hit('api:user:7', 5, 60_000);
    await client.del(`${prefix}rl:api:{user:7}:n`);
    const after = [];
    for (let i = 0; i < 3; i++) after.push(await store.hit('api:user:7', 5, 60_000));
    expect(after.map((d) => [d.allowed, d.remaining])).toEqual([[true, 1], [true, 0], [false, 0]]);
  });

  it('subtracts hits that leave the window from the counter', async (ctx) => {
    ctx.skip(!redisUrl, 'skipped: no Redis');
    const client = connect();
    const prefix = `rampart-test:${randomUUID()}:`;
    const store = createRedisStore({ client, prefix });
    await Promise.all(Array.from({ length: 3 }, () => store.hit('api:user:8', 4, 400)));
    await new Promise((resolve) => setTimeout(resolve, 250));
    await store.hit('api:user:8', 4, 400);
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The batch of three has left; the single hit is still in the window.
    const decision = await store.hit('api:user:8', 4, 400);
    expect([decision.allowed, decision.remaining]).toEqual([true, 2]);
    // The new oldest entry (the single hit) is what the counter remembers now.
    const [, oldestScore] = await client.zrange(`${prefix}rl:api:{user:8}`, 0, 0, 'WITHSCORES');
    expect(await client.get(`${prefix}rl:api:{user:8}:n`)).toBe(`2:${oldestScore}`);
  });

  it('reads a counter written by an earlier version (a plain count) and carries on exactly', async (ctx) => {
    ctx.skip(!redisUrl, 'skipped: no Redis');
    const client = connect();
    const prefix = `rampart-test:${randomUUID()}:`;
    const store = createRedisStore({ client, prefix });
    for (let i = 0; i < 2; i++) await store.hit('api:user:9', 4, 60_000);
    await client.set(`${prefix}rl:api:{user:9}:n`, '2', 'KEEPTTL');
    const after = [];
    for (let i = 0; i < 3; i++) after.push(await store.hit('api:user:9', 4, 60_000));
    expect(after.map((d) => [d.allowed, d.remaining])).toEqual([[true, 1], [true, 0], [false, 0]]);
    expect(await client.get(`${prefix}rl:api:{user:9}:n`)).toMatch(/^4:\d+$/);
  });

  describe('on a private server', () => {
    let server: PrivateRedis;
    beforeAll(async () => {
      server = await startPrivateRedis();
    });
    afterAll(() => server.destroy());

    it('decides a batch of hits on many keys exactly, each key counting down in arrival order', async () => {
      const client = connect(server.url);
      const store = createRedisStore({ client, prefix: `rampart-test:${randomUUID()}:` });
      const scriptCalls = async () => {
        const stats = await client.info('commandstats');
        return ['eval', 'evalsha'].reduce((sum, name) => sum + Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0), 0);
      };
      const before = await scriptCalls();
      // Issued in one turn of the event loop: one script call decides all 60.
      const hits = Array.from({ length: 60 }, (_, i) => store.hit(`general:ip:198.51.100.${i % 3}`, 15, 60_000));
      const decisions = await Promise.all(hits);
      expect(await scriptCalls()).toBe(before + 1);
      for (let ip = 0; ip < 3; ip++) {
        const mine = decisions.filter((_, i) => i % 3 === ip);
        expect(mine.map((d) => d.allowed)).toEqual([...Array(15).fill(true), ...Array(5).fill(false)]);
        expect(mine.slice(0, 15).map((d) => d.remaining)).toEqual(Array.from({ length: 15 }, (_, i) => 14 - i));
        expect(mine.at(-1)!.resetMs).toBeGreaterThan(59_000);
      }
    });

    it('keeps working after the server forgot its scripts (EVALSHA falls back to EVAL)', async () => {
      const client = connect(server.url);
      const store = createRedisStore({ client, prefix: 'p:' });
      expect((await store.hit('k', 2, 60_000)).allowed).toBe(true);
      await client.script('FLUSH');
      expect((await store.hit('k', 2, 60_000)).allowed).toBe(true);
      expect((await store.hit('k', 2, 60_000)).allowed).toBe(false);
    });
  });
});
