import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';

export interface CacheOptions {
  /** Shared layer; unset (embedded, single instance): the in-process layer only. */
  redis?: Redis | Cluster;
  /** Namespaces keys and the invalidation channel, e.g. `rampart:`. */
  prefix: string;
  logger: Pick<Logger, 'warn'>;
  /** How long this process trusts its own copy; other instances' changes reach it by pub/sub, or after this at worst. */
  localTtlMs?: number;
  localMaxEntries?: number;
  /** How long the instance filling a key may hold its lock. */
  lockMs?: number;
  /** How long other instances poll for that fill before loading themselves. */
  waitMs?: number;
  /** Our own bound on each Redis round trip, on top of the connection's commandTimeout. */
  redisTimeoutMs?: number;
}

export interface Cache {
  /** The cached value, or `loader()`'s (stored for `ttlMs`); Redis failing or slow only costs a load. */
  getOrLoad<T>(key: string, ttlMs: number, loader: () => Promise<T>): Promise<T>;
  /** Drops the key everywhere: here, in Redis, and (by pub/sub) in every other instance's memory. */
  invalidate(key: string): Promise<void>;
  /** Ends the subscriber connection; the shared connection belongs to whoever passed it. */
  close(): Promise<void>;
}

const POLL_MS = 20;
const WARN_EVERY_MS = 10_000;
// After a Redis failure, reads skip it this long: a hung Redis costs one timeout, not one per request.
const BACKOFF_MS = 1_000;

// Writes the loaded value only while the loader still holds the fill lock. `invalidate` deletes
// the lock, so a value read from the database before a change can never land after it.
const FILL_IF_LOCKED = `
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('set', KEYS[2], ARGV[2], 'PX', ARGV[3])
  redis.call('del', KEYS[1])
  return 1
end
return 0`;
const UNLOCK_IF_MINE = `
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0`;

interface Flight {
  promise: Promise<unknown>;
  /** Invalidated while loading: the result is returned to its callers but not kept. */
  stale: boolean;
}

/**
 * Cache-aside in two layers: a small bounded map per process (≤ `localTtlMs`, default 1 s) and
 * Redis (JSON, the caller's TTL). Concurrent misses for a key share one load in a process, and
 * across instances the first takes a short `SET NX PX` lock while the others poll for its
 * result (for at most `waitMs`, then load themselves).
 */
export function createCache(options: CacheOptions): Cache {
  const { redis, prefix, logger } = options;
  const localTtlMs = options.localTtlMs ?? 1_000;
  const localMax = options.localMaxEntries ?? 10_000;
  const lockMs = options.lockMs ?? 2_000;
  const waitMs = options.waitMs ?? 500;
  const redisTimeoutMs = options.redisTimeoutMs ?? 250;
  const channel = `${prefix}invalidate`;
  // The hash tag keeps a key's value and lock in one Cluster slot, as the scripts need.
  const valueKey = (key: string) => `${prefix}cache:{${key}}`;
  const lockKey = (key: string) => `${prefix}cache-lock:{${key}}`;

  const local = new Map<string, { value: unknown; until: number }>();
  const flights = new Map<string, Flight>();
  let closed = false;
  let lastWarning = 0;
  let skipRedisUntil = 0;

  const remember = (key: string, value: unknown, ttlMs: number) => {
    local.delete(key);
    // Oldest first: a Map iterates in insertion order.
    if (local.size >= localMax) local.delete(local.keys().next().value as string);
    local.set(key, { value, until: Date.now() + Math.min(localTtlMs, ttlMs) });
  };

  const forgetLocally = (key: string) => {
    local.delete(key);
    const flight = flights.get(key);
    if (flight) {
      flight.stale = true;
      flights.delete(key);
    }
  };

  const degraded = (err: unknown, what: string) => {
    skipRedisUntil = Date.now() + BACKOFF_MS;
    if (Date.now() - lastWarning < WARN_EVERY_MS) return;
    lastWarning = Date.now();
    logger.warn({ err, cache: prefix }, `cache: Redis ${what} failed; reading from the source`);
  };

  const bounded = <T>(command: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis did not answer within ${redisTimeoutMs} ms`)), redisTimeoutMs);
    });
    command.catch(() => {});
    return Promise.race([command, timeout]).finally(() => clearTimeout(timer));
  };

  const decode = (raw: string): unknown => (JSON.parse(raw) as { v: unknown }).v;

  const connect = (client: Redis | Cluster) => {
    if (client.status === 'wait') client.connect().catch(() => {});
  };

  let subscriber: Redis | Cluster | undefined;
  if (redis) {
    connect(redis);
    subscriber = redis.duplicate();
    subscriber.on('error', () => {});
    subscriber.on('message', (from: string, key: string) => {
      if (from === channel) forgetLocally(key);
    });
    // Messages sent while disconnected are lost: start over rather than trust old copies.
    subscriber.on('ready', () => {
      local.clear();
      subscriber?.subscribe(channel).catch((err: unknown) => degraded(err, 'subscribe'));
    });
    connect(subscriber);
  }

  /** The value from Redis, or `undefined` when this instance must load it itself. */
  const fromRedis = async (client: Redis | Cluster, key: string, ttlMs: number, loader: () => Promise<unknown>): Promise<{ value: unknown } | undefined> => {
    let token: string;
    try {
      const cached = await bounded(client.get(valueKey(key)));
      if (cached !== null) return { value: decode(cached) };
      token = randomUUID();
      const locked = await bounded(client.set(lockKey(key), token, 'PX', lockMs, 'NX'));
      if (locked !== 'OK') {
        const deadline = Date.now() + waitMs;
        while (Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
          const filled = await bounded(client.get(valueKey(key)));
          if (filled !== null) return { value: decode(filled) };
        }
        return undefined;
      }
    } catch (err) {
      degraded(err, 'read');
      return undefined;
    }
    let value: unknown;
    try {
      value = await loader();
    } catch (err) {
      await bounded(client.eval(UNLOCK_IF_MINE, 1, lockKey(key), token)).catch(() => {});
      throw err;
    }
    await bounded(client.eval(FILL_IF_LOCKED, 2, lockKey(key), valueKey(key), token, JSON.stringify({ v: value }), String(ttlMs))).catch((err: unknown) =>
      degraded(err, 'write'),
    );
    return { value };
  };

  return {
    getOrLoad<T>(key: string, ttlMs: number, loader: () => Promise<T>): Promise<T> {
      const hit = local.get(key);
      if (hit && hit.until > Date.now()) return Promise.resolve(hit.value as T);
      const current = flights.get(key);
      if (current) return current.promise as Promise<T>;
      const flight: Flight = { stale: false, promise: Promise.resolve() };
      flight.promise = (async () => {
        const useRedis = redis && !closed && redis.status === 'ready' && Date.now() >= skipRedisUntil;
        const shared = useRedis ? await fromRedis(redis, key, ttlMs, loader) : undefined;
        const value = shared ? shared.value : await loader();
        if (!flight.stale && !closed) remember(key, value, ttlMs);
        return value;
      })().finally(() => {
        if (flights.get(key) === flight) flights.delete(key);
      });
      flights.set(key, flight);
      return flight.promise as Promise<T>;
    },

    async invalidate(key) {
      forgetLocally(key);
      if (!redis) return;
      try {
        await bounded(redis.del(valueKey(key), lockKey(key)));
        await bounded(redis.publish(channel, key));
      } catch (err) {
        // Other instances' copies then live until their local TTL and the Redis TTL end.
        logger.warn({ err, cache: prefix }, 'cache: could not invalidate in Redis');
      }
    },

    async close() {
      closed = true;
      local.clear();
      subscriber?.disconnect();
    },
  };
}
