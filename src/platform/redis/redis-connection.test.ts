import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateCluster, startPrivateRedis, startPrivateSentinelGroup, type PrivateCluster, type PrivateRedis, type PrivateSentinelGroup } from '../../../test/support/private-redis.js';
import { createLimiter, type Outcome } from '../ratelimit/limiter.js';
import { createRedisStore } from '../ratelimit/redis-store.js';
import { createRedisConnection, redisConfigured, type RedisConnection } from './redis-connection.js';
import { createRedisProbe } from './redis-probe.js';

const redisUrl = process.env.TEST_REDIS_URL;
if (!redisUrl && process.env.CI === 'true') throw new Error('TEST_REDIS_URL is required in CI');

const connections: RedisConnection[] = [];
const connect = (settings: Parameters<typeof createRedisConnection>[0]) => {
  const connection = createRedisConnection(settings);
  connections.push(connection);
  return connection;
};
afterAll(() => Promise.all(connections.map((c) => c.close())));

const timeouts = { commandTimeoutMs: 200, connectTimeoutMs: 1_000 };

// A tier of 3 hits on a fresh key: what the limiter decides, in order.
async function fourHits(connection: RedisConnection, key: string): Promise<Outcome[]> {
  const limiter = createLimiter({ store: createRedisStore({ client: connection.client, prefix: 'topology:' }), tiers: { t: { name: 't', limit: 3, windowMs: 60_000, failMode: 'open' } }, timeoutMs: 500 });
  const outcomes: Outcome[] = [];
  for (let i = 0; i < 4; i++) outcomes.push((await limiter.check('t', key)).outcome);
  return outcomes;
}

async function eventually<T>(attempt: () => Promise<T>, accept: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await attempt();
  while (!accept(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    value = await attempt();
  }
  return value;
}

describe('createRedisConnection', () => {
  it('needs a URL, sentinels or cluster nodes', () => {
    expect(redisConfigured({})).toBe(false);
    expect(redisConfigured({ sentinels: [] })).toBe(false);
    expect(redisConfigured({ clusterNodes: ['127.0.0.1:7000'] })).toBe(true);
    expect(() => createRedisConnection({ ...timeouts })).toThrow(/REDIS_URL/);
  });

  it('connects to a standalone server and reports ok:standalone', async (ctx) => {
    ctx.skip(!redisUrl, 'skipped: no Redis');
    const connection = connect({ url: redisUrl, ...timeouts });
    expect(connection.mode).toBe('standalone');
    expect(await connection.ready(5_000)).toBe(true);
    expect(await createRedisProbe(connection).check()).toEqual({ configured: true, ok: true, details: 'ok:standalone' });
  });

  describe('on a server that dies or hangs', () => {
    let server: PrivateRedis;
    beforeAll(async () => {
      server = await startPrivateRedis();
    });
    afterAll(() => server.destroy());

    it('comes back by itself when the client ends without close(), and stays ended after close()', async () => {
      const connection = connect({ url: server.url, ...timeouts });
      expect(await connection.ready(5_000)).toBe(true);
      // What ioredis does on its own when a reconnect fails inside its connector.
      const ended = new Promise((resolve) => connection.client.once('end', resolve));
      connection.client.disconnect();
      await ended;
      const revived = await eventually(async () => connection.client.status, (status) => status === 'ready', 5_000);
      expect(revived).toBe('ready');
      expect(await connection.client.ping()).toBe('PONG');

      await connection.close();
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(connection.client.status).toBe('end');
    });

    it('fails commands at once while the server is down instead of queueing them, and recovers alone', async () => {
      const connection = connect({ url: server.url, ...timeouts });
      const probe = createRedisProbe(connection);
      expect(await connection.ready(5_000)).toBe(true);
      await server.stop();
      await new Promise((resolve) => setTimeout(resolve, 100));
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        await expect(connection.client.ping()).rejects.toThrow();
        expect(performance.now() - started).toBeLessThan(50);
      }
      expect(await probe.check()).toMatchObject({ configured: true, ok: false });
      await server.start();
      const status = await eventually(() => probe.check(), (s) => s.ok, 5_000);
      expect(status).toEqual({ configured: true, ok: true, details: 'ok:standalone' });
    });

    it('gives up on a hung server after the command timeout', async () => {
      const connection = connect({ url: server.url, ...timeouts });
      expect(await connection.ready(5_000)).toBe(true);
      server.freeze();
      try {
        const started = performance.now();
        await expect(connection.client.ping()).rejects.toThrow(/timed out/i);
        expect(performance.now() - started).toBeLessThan(timeouts.commandTimeoutMs + 100);
      } finally {
        server.thaw();
      }
    });
  });

  describe('with Sentinel', () => {
    let group: PrivateSentinelGroup;
    beforeAll(async () => {
      group = await startPrivateSentinelGroup();
    }, 60_000);
    afterAll(() => group?.destroy());

    it('finds the master through the sentinels and keeps limiting after the primary dies', async () => {
      const connection = connect({ sentinels: group.sentinels, masterName: group.masterName, ...timeouts });
      expect(connection.mode).toBe('sentinel');
      expect(await connection.ready(5_000)).toBe(true);
      expect(await createRedisProbe(connection).check()).toEqual({ configured: true, ok: true, details: 'ok:sentinel' });
      expect(await fourHits(connection, 'before')).toEqual(['allowed', 'allowed', 'allowed', 'limited']);

      await group.primary.stop();
      // down-after 1 s + election (a split vote retries after 2 × failover-timeout = 6 s, and
      // a full test run on two cores has delayed the sentinels' timers into several retries);
      // the same connection follows the new master by itself.
      const after = await eventually(() => fourHits(connection, `after-${Date.now()}`), (o) => o[0] === 'allowed', 45_000);
      const masterPort = await group.masterPort();
      expect({ after, masterPort, status: connection.client.status }).toEqual({ after: ['allowed', 'allowed', 'allowed', 'limited'], masterPort: group.replica.port, status: 'ready' });
    }, 70_000);
  });

  describe('with Redis Cluster', () => {
    let cluster: PrivateCluster;
    beforeAll(async () => {
      cluster = await startPrivateCluster();
    }, 60_000);
    afterAll(() => cluster?.destroy());

    it('limits exactly on keys spread over every node and reports ok:cluster', async () => {
      const connection = connect({ clusterNodes: cluster.nodes.slice(0, 1), ...timeouts });
      expect(connection.mode).toBe('cluster');
      expect(await connection.ready(10_000)).toBe(true);
      expect(await createRedisProbe(connection).check()).toEqual({ configured: true, ok: true, details: 'ok:cluster' });
      const store = createRedisStore({ client: connection.client, prefix: 'cluster-test:' });
      const identities = Array.from({ length: 20 }, (_, i) => `api:user:${i}`);
      const decisions = await Promise.all(identities.flatMap((id) => Array.from({ length: 15 }, () => store.hit(id, 10, 60_000).then((d) => ({ id, allowed: d.allowed })))));
      for (const id of identities) expect(decisions.filter((d) => d.id === id && d.allowed)).toHaveLength(10);
      // The keys really are spread: every master holds some.
      const perNode = await Promise.all((connection.client as import('ioredis').Cluster).nodes('master').map((node) => node.dbsize()));
      expect(perNode).toHaveLength(3);
      expect(perNode.every((n) => n > 0)).toBe(true);
    });

    it('decides one client\'s tiers together in its slot, and limits of different identities on their own', async () => {
      const connection = connect({ clusterNodes: cluster.nodes.slice(0, 1), ...timeouts });
      expect(await connection.ready(10_000)).toBe(true);
      const store = createRedisStore({ client: connection.client, prefix: 'cluster-tiers:' });
      const request = (ip: string) => store.hitAll([{ key: `global:ip:${ip}`, limit: 50, windowMs: 60_000 }, { key: `general:ip:${ip}`, limit: 5, windowMs: 60_000 }]);
      const ips = Array.from({ length: 12 }, (_, i) => `192.0.2.${i}`);
      const decisions = await Promise.all(ips.flatMap((ip) => Array.from({ length: 8 }, () => request(ip).then(([global, general]) => ({ ip, global: global!, general: general! })))));
      for (const ip of ips) {
        const mine = decisions.filter((d) => d.ip === ip);
        expect(mine.filter((d) => d.general.allowed)).toHaveLength(5);
        // Refused requests were charged to neither tier.
        expect(Math.min(...mine.map((d) => d.global.remaining))).toBe(45);
      }
      const auth = await store.hitAll([{ key: 'auth:ip:192.0.2.99', limit: 1, windowMs: 60_000 }, { key: 'auth:account:abc', limit: 1, windowMs: 60_000 }]);
      expect(auth.map((d) => d.allowed)).toEqual([true, true]);
      expect((await store.hit('auth:account:abc', 1, 60_000)).allowed).toBe(false);
    });
  });
});
