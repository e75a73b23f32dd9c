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

  it('keeps one sorted set per key under the prefix, hash-tagged, expiring with the window', async (ctx) => {
    ctx.skip(!redisUrl, 'skipped: no Redis');
    const client = connect();
    const prefix = `rampart-test:${randomUUID()}:`;
    const store = createRedisStore({ client, prefix });
    await store.hit('auth:ip:203.0.113.9', 10, 60_000);
    await store.hit('auth:ip:203.0.113.9', 10, 60_000);
    const key = `${prefix}rl:{auth:ip:203.0.113.9}`;
    expect(await client.keys(`${prefix}*`)).toEqual([key]);
    expect(await client.type(key)).toBe('zset');
    expect(await client.zcard(key)).toBe(2);
    const ttl = await client.pttl(key);
    expect(ttl).toBeGreaterThan(59_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    // Scores are the Redis server's clock (µs), not the instance's.
    const [seconds] = await client.time();
    const [, score] = await client.zrange(key, 0, 0, 'WITHSCORES');
    expect(Math.abs(Number(score) / 1e6 - Number(seconds))).toBeLessThan(5);
  });

  describe('on a private server', () => {
    let server: PrivateRedis;
    beforeAll(async () => {
      server = await startPrivateRedis();
    });
    afterAll(() => server.destroy());

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
