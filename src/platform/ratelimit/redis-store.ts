import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { Decision, RateLimitStore } from './store.js';

// The whole decision in one atomic script, timed by the Redis server's clock so instances
// with skewed clocks agree. Scores are microseconds; a hit stays in the window while
// now - score < window. Refused hits are not recorded, so a client hammering a closed
// window does not push its own reset further away.
const SLIDING_WINDOW_LOG = `
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2]) * 1000
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
local allowed = 0
if count < limit then
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, ARGV[2])
  count = count + 1
  allowed = 1
end
local index = 0
if allowed == 0 then index = count - limit end
local freeing = redis.call('ZRANGE', key, index, index, 'WITHSCORES')
local reset = 0
if freeing[2] then reset = tonumber(freeing[2]) + window - now end
return {allowed, count, reset}
`;

const COMMAND = 'rampartSlidingWindowLog';

type ScriptedClient = (Redis | Cluster) & {
  [COMMAND](key: string, limit: number, windowMs: number, member: string): Promise<[number, number, number]>;
};

export interface RedisStoreOptions {
  client: Redis | Cluster;
  /** REDIS_KEY_PREFIX; keys are `${prefix}rl:{${key}}`. */
  prefix: string;
}

/**
 * The sliding-window log in Redis, shared by every instance: one EVALSHA per hit (ioredis
 * falls back to EVAL when the server lost its script cache, e.g. after a restart).
 */
export function createRedisStore(options: RedisStoreOptions): RateLimitStore {
  const client = options.client as ScriptedClient;
  if (typeof client[COMMAND] !== 'function') client.defineCommand(COMMAND, { numberOfKeys: 1, lua: SLIDING_WINDOW_LOG });
  // Members must be unique per hit, even two in one microsecond from two instances: a
  // random id per store plus a counter (short, since every member costs Redis memory).
  const instance = randomBytes(6).toString('base64url');
  let counter = 0;
  return {
    async hit(key, limit, windowMs): Promise<Decision> {
      counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
      // The hash tag spans the whole key, so each limiter key maps to one cluster slot
      // whatever characters the identity contains.
      const [allowed, count, resetUs] = await client[COMMAND](`${options.prefix}rl:{${key}}`, limit, windowMs, `${instance}${counter.toString(36)}`);
      return { allowed: allowed === 1, limit, remaining: Math.max(0, limit - count), resetMs: Math.max(0, Math.ceil(resetUs / 1000)) };
    },
    // The connection is shared; its owner closes it.
    async close() {},
  };
}
