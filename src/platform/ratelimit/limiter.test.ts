import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateRedis, type PrivateRedis } from '../../../test/support/private-redis.js';
import { createRedisConnection, type RedisConnection } from '../redis/redis-connection.js';
import { createLimiter, rateLimitTiers, type Outcome, type Tier } from './limiter.js';
import { createMemoryStore } from './memory-store.js';
import { createRedisStore } from './redis-store.js';
import type { Hit } from './store.js';

const tiers: Record<string, Tier> = {
  api: { name: 'api', limit: 3, windowMs: 60_000, failMode: 'open' },
  auth: { name: 'auth', limit: 3, windowMs: 60_000, failMode: 'closed' },
};

describe('limiter', () => {
  it('counts each tier separately for the same identity and reports every outcome', async () => {
    const outcomes: string[] = [];
    const limiter = createLimiter({ store: createMemoryStore(), tiers, timeoutMs: 50, onDecision: (tier, outcome) => outcomes.push(`${tier}:${outcome}`) });
    for (let i = 0; i < 4; i++) await limiter.check('api', 'ip:1');
    await limiter.check('auth', 'ip:1');
    expect(outcomes).toEqual(['api:allowed', 'api:allowed', 'api:allowed', 'api:limited', 'auth:allowed']);
  });

  it('lets go of a decided check at once, not when its timeout would have fired', async () => {
    // A check held until its deadline outlives young-generation GCs on a busy instance and is
    // copied into the old generation: measured as most of the limiter's cost under load.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const seen: Array<WeakRef<object>> = [];
    const memory = createMemoryStore();
    const store = { ...memory, hitAll: (hits: readonly Hit[]) => (seen.push(new WeakRef(hits)), memory.hitAll(hits)) };
    const limiter = createLimiter({ store, tiers, timeoutMs: 60_000 });
    for (let i = 0; i < 20; i++) expect((await limiter.check('api', `ip:${i}`)).outcome).toBe('allowed');
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(seen.filter((ref) => ref.deref() !== undefined)).toHaveLength(0);
  });

  it('applies the fail mode when the store throws instead of rejecting', async () => {
    const memory = createMemoryStore();
    const store = { ...memory, hitAll: (): Promise<never> => { throw new Error('store exploded'); } };
    const limiter = createLimiter({ store, tiers, timeoutMs: 60_000 });
    const verdicts = await limiter.checkAll([{ tier: 'api', identity: 'ip:1' }, { tier: 'auth', identity: 'ip:1' }]);
    expect(verdicts.map((v) => v.outcome)).toEqual(['failed_open', 'failed_closed']);
  });

  it('builds the five tiers from the configuration, auth and contact failing closed by default', () => {
    const built = rateLimitTiers({ rateLimitGeneralPerMin: 60, rateLimitApiPerMin: 100, rateLimitAuthPerMin: 10, rateLimitContactPerMin: 12, rateLimitGlobalPer5Min: 2000, rateLimitFailOpenTiers: ['general', 'api', 'global'] });
    expect(built).toEqual({
      global: { name: 'global', limit: 2000, windowMs: 300_000, failMode: 'open' },
      general: { name: 'general', limit: 60, windowMs: 60_000, failMode: 'open' },
      api: { name: 'api', limit: 100, windowMs: 60_000, failMode: 'open' },
      auth: { name: 'auth', limit: 10, windowMs: 60_000, failMode: 'closed' },
      contact: { name: 'contact', limit: 12, windowMs: 60_000, failMode: 'closed' },
    });
  });

  describe('when Redis fails', () => {
    let server: PrivateRedis;
    let connection: RedisConnection;
    const outcomes: Outcome[] = [];
    const timeoutMs = 50;
    let limiter: ReturnType<typeof createLimiter>;

    beforeAll(async () => {
      server = await startPrivateRedis();
      connection = createRedisConnection({ url: server.url, commandTimeoutMs: 1_000, connectTimeoutMs: 500 });
      expect(await connection.ready(5_000)).toBe(true);
      limiter = createLimiter({ store: createRedisStore({ client: connection.client, prefix: 't:' }), tiers, timeoutMs, onDecision: (_, outcome) => outcomes.push(outcome) });
    });
    afterAll(async () => {
      await connection?.close();
      await server?.destroy();
    });

    const timed = async (tier: string, identity: string) => {
      const started = performance.now();
      const verdict = await limiter.check(tier, identity);
      return { outcome: verdict.outcome, ms: performance.now() - started };
    };

    it('fails open or closed per tier at once while Redis is down, and enforces again once it is back', async () => {
      expect((await timed('auth', 'ip:a')).outcome).toBe('allowed');
      await server.stop();
      for (let i = 0; i < 20; i++) {
        const open = await timed('api', `ip:${i}`);
        const closed = await timed('auth', `ip:${i}`);
        expect(open.outcome).toBe('failed_open');
        expect(closed.outcome).toBe('failed_closed');
        expect(Math.max(open.ms, closed.ms)).toBeLessThan(timeoutMs + 50);
      }

      await server.start();
      // Data is gone with the restart (no persistence); the same limiter reconnects by itself.
      const deadline = Date.now() + 10_000;
      while ((await timed('auth', 'ip:probe')).outcome !== 'allowed' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const after = [];
      for (let i = 0; i < 4; i++) after.push((await timed('api', 'ip:b')).outcome);
      expect(after).toEqual(['allowed', 'allowed', 'allowed', 'limited']);
    });

    it('gives up on a hung Redis after timeoutMs and applies the fail mode', async () => {
      expect((await timed('api', 'ip:c')).outcome).toBe('allowed');
      server.freeze();
      try {
        const results = await Promise.all([timed('api', 'ip:c'), timed('auth', 'ip:c'), timed('api', 'ip:d')]);
        expect(results.map((r) => r.outcome)).toEqual(['failed_open', 'failed_closed', 'failed_open']);
        for (const { ms } of results) expect(ms).toBeLessThan(timeoutMs + 50);
      } finally {
        server.thaw();
      }
      expect(outcomes).toContain('failed_open');
      expect(outcomes).toContain('failed_closed');
    });
  });
});
