import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startPrivateCluster, startPrivateRedis, type PrivateCluster, type PrivateRedis } from '../../../test/support/private-redis.js';
import { createCache, type Cache, type CacheOptions } from './cache-aside.js';

const redisUrl = process.env.TEST_REDIS_URL;
if (!redisUrl && process.env.CI === 'true') throw new Error('TEST_REDIS_URL is required in CI');

const quiet = { warn: () => {} };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the connection Rampart passes in looks like: commands fail fast instead of queueing. */
function failFastClient(url: string): Redis {
  const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 200, connectTimeout: 500, retryStrategy: () => 100, enableAutoPipelining: true });
  client.on('error', () => {});
  return client;
}

async function ready(client: Redis): Promise<void> {
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
}

function counting<T>(values: () => T, delayMs = 0) {
  // Reads first, then takes its time: like a query whose answer is on its way back.
  const loader = vi.fn(async () => {
    const value = values();
    if (delayMs) await sleep(delayMs);
    return value;
  });
  return loader;
}

describe('cache-aside in memory only (embedded)', () => {
  it('serves a value for the local TTL, then loads again; concurrent misses share one load', async () => {
    const cache = createCache({ prefix: 'test:', logger: quiet, localTtlMs: 200 });
    let version = 1;
    const loader = counting(() => version, 30);

    expect(await Promise.all(Array.from({ length: 20 }, () => cache.getOrLoad('k', 10_000, loader)))).toEqual(Array(20).fill(1));
    version = 2;
    expect(await cache.getOrLoad('k', 10_000, loader)).toBe(1);
    await sleep(250);
    expect(await cache.getOrLoad('k', 10_000, loader)).toBe(2);
    expect(loader).toHaveBeenCalledTimes(2);
    await cache.close();
  });

  it('invalidate drops the copy at once, also one still being loaded', async () => {
    const cache = createCache({ prefix: 'test:', logger: quiet, localTtlMs: 60_000 });
    let version = 1;
    const loading = cache.getOrLoad('k', 60_000, counting(() => version, 50));
    await cache.invalidate('k');
    version = 2;

    expect(await loading).toBe(1);
    expect(await cache.getOrLoad('k', 60_000, async () => version)).toBe(2);
    await cache.close();
  });
});

describe.runIf(redisUrl)('cache-aside over Redis', () => {
  const clients: Redis[] = [];
  const caches: Cache[] = [];
  let privateRedis: PrivateRedis | undefined;
  let cluster: PrivateCluster | undefined;

  afterEach(async () => {
    await Promise.all(caches.splice(0).map((cache) => cache.close()));
    for (const client of clients.splice(0)) client.disconnect();
    await privateRedis?.destroy();
    privateRedis = undefined;
    await cluster?.destroy();
    cluster = undefined;
  });

  const prefixFor = () => `rampart-test:${randomBytes(6).toString('hex')}:`;

  const cacheOn = async (url: string, prefix: string, options: Partial<CacheOptions> = {}) => {
    const client = failFastClient(url);
    clients.push(client);
    await ready(client);
    const cache = createCache({ redis: client, prefix, logger: quiet, ...options });
    caches.push(cache);
    return { cache, client };
  };

  const subscribers = async (client: Redis, prefix: string, count: number) => {
    await vi.waitFor(async () => {
      const [, n] = (await client.pubsub('NUMSUB', `${prefix}invalidate`)) as [string, number];
      expect(n).toBe(count);
    }, { timeout: 3_000, interval: 20 });
  };

  it('a value is shared through Redis and expires with its TTL', async () => {
    const prefix = prefixFor();
    const a = await cacheOn(redisUrl!, prefix, { localTtlMs: 50 });
    const b = await cacheOn(redisUrl!, prefix, { localTtlMs: 50 });
    let version = 1;
    const loader = counting(() => ({ version }));

    expect(await a.cache.getOrLoad('user:1', 400, loader)).toEqual({ version: 1 });
    version = 2;
    expect(await b.cache.getOrLoad('user:1', 400, loader)).toEqual({ version: 1 });
    expect(loader).toHaveBeenCalledTimes(1);
    const pttl = await a.client.pttl(`${prefix}cache:{user:1}`);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(400);

    await sleep(450);
    expect(await b.cache.getOrLoad('user:1', 400, loader)).toEqual({ version: 2 });
    expect(loader).toHaveBeenCalledTimes(2);
  });

  it('an invalidation on one instance is seen by another within a second', async () => {
    const prefix = prefixFor();
    // Long local TTLs: only the invalidation message can make the second instance reload.
    const a = await cacheOn(redisUrl!, prefix, { localTtlMs: 60_000 });
    const b = await cacheOn(redisUrl!, prefix, { localTtlMs: 60_000 });
    await subscribers(a.client, prefix, 2);
    let role = 'member';
    const loader = async () => role;
    expect(await a.cache.getOrLoad('role', 60_000, loader)).toBe('member');
    expect(await b.cache.getOrLoad('role', 60_000, loader)).toBe('member');

    role = 'admin';
    const changedAt = Date.now();
    await a.cache.invalidate('role');

    await vi.waitFor(async () => expect(await b.cache.getOrLoad('role', 60_000, loader)).toBe('admin'), { timeout: 1_000, interval: 10 });
    expect(Date.now() - changedAt).toBeLessThan(1_000);
    expect(await a.cache.getOrLoad('role', 60_000, loader)).toBe('admin');
  });

  it('50 concurrent reads of a missing key on two instances load it once', async () => {
    const prefix = prefixFor();
    const a = await cacheOn(redisUrl!, prefix);
    const b = await cacheOn(redisUrl!, prefix);
    const loader = counting(() => 'expensive', 100);

    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).cache.getOrLoad('hot', 10_000, loader)));

    expect(results).toEqual(Array(50).fill('expensive'));
    expect(loader).toHaveBeenCalledTimes(1);
  });

  it('a value loaded before an invalidation is not written to Redis after it', async () => {
    const prefix = prefixFor();
    const a = await cacheOn(redisUrl!, prefix);
    const b = await cacheOn(redisUrl!, prefix);
    let version = 1;
    const slow = counting(() => version, 150);

    const stale = a.cache.getOrLoad('k', 10_000, slow);
    await sleep(50);
    version = 2;
    await b.cache.invalidate('k');
    expect(await stale).toBe(1);

    expect(await a.client.get(`${prefix}cache:{k}`)).toBeNull();
    expect(await b.cache.getOrLoad('k', 10_000, async () => version)).toBe(2);
  });

  it('with Redis down or hung, reads still answer from the source within a bound', async () => {
    privateRedis = await startPrivateRedis();
    const prefix = prefixFor();
    const { cache } = await cacheOn(privateRedis.url, prefix, { localTtlMs: 10, redisTimeoutMs: 150 });
    let version = 1;
    const loader = counting(() => version);
    expect(await cache.getOrLoad('k', 60_000, loader)).toBe(1);

    privateRedis.freeze();
    version = 2;
    await sleep(20);
    let started = Date.now();
    expect(await cache.getOrLoad('k', 60_000, loader)).toBe(2);
    expect(Date.now() - started).toBeLessThan(500);
    privateRedis.thaw();

    await privateRedis.stop();
    version = 3;
    await sleep(20);
    started = Date.now();
    expect(await cache.getOrLoad('k', 60_000, loader)).toBe(3);
    expect(await cache.getOrLoad('other', 60_000, async () => 'fresh')).toBe('fresh');
    await cache.invalidate('k');
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('on Redis Cluster, concurrent misses load once and an invalidation reaches the other instance', async () => {
    cluster = await startPrivateCluster();
    const prefix = prefixFor();
    const nodes = cluster.nodes.map((node) => ({ host: '127.0.0.1', port: Number(node.split(':')[1]) }));
    const connect = async () => {
      const client = new Cluster(nodes, { enableOfflineQueue: false, redisOptions: { maxRetriesPerRequest: 0, commandTimeout: 500 } });
      client.on('error', () => {});
      if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
      return client;
    };
    const [one, two] = [await connect(), await connect()];
    const [a, b] = [one, two].map((redis) => createCache({ redis, prefix, logger: quiet, localTtlMs: 60_000 }));
    caches.push(a!, b!);
    let version = 1;
    const loader = counting(() => version, 100);

    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a! : b!).getOrLoad('hot', 10_000, loader)));
    expect(results).toEqual(Array(20).fill(1));
    expect(loader).toHaveBeenCalledTimes(1);

    // Each subscriber sits on one node of its choosing; a PUBLISH reaches every node.
    const perNode = nodes.map((node) => failFastClient(`redis://127.0.0.1:${node.port}`));
    clients.push(...perNode);
    await vi.waitFor(async () => {
      let total = 0;
      for (const node of perNode) total += ((await node.pubsub('NUMSUB', `${prefix}invalidate`)) as [string, number])[1];
      expect(total).toBe(2);
    }, { timeout: 3_000, interval: 50 });
    version = 2;
    await a!.invalidate('hot');
    await vi.waitFor(async () => expect(await b!.getOrLoad('hot', 10_000, loader)).toBe(2), { timeout: 1_000, interval: 10 });
    one.disconnect();
    two.disconnect();
  });
});
