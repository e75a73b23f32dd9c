import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { Decision, Hit, RateLimitStore } from './store.js';

// Every request checked during one turn of the event loop, decided in one atomic script,
// timed by the Redis server's clock so instances with skewed clocks agree.
//
// A limit's log is a sorted set of entries `<weight>:<batch id>` scored by their time (µs):
// one entry stands for all the hits a batch admitted, so a busy key costs one member per
// batch instead of one per request. A counter beside it holds the sum of the weights in the
// window; pruning subtracts what leaves. A hit stays in the window while now - score < window.
// The counter also holds the oldest entry's time (`<count>:<µs>`), so a batch reads the log
// only when something may have expired; a plain `<count>` (older versions) still reads.
// Refused hits are not recorded, so hammering a full window does not push its reset away.
//
// Requests of a batch that count against the same limits arrive as one group of n: the
// first m of them are admitted, m being the smallest room left among the group's limits
// (all of a request's limits are charged, or none). The script's work therefore grows with
// the distinct clients of a batch, not with its requests.
//
// KEYS: per limit, its log then its counter. ARGV[1]: the batch id (unique per store and
// batch). Then per group: n, the number of limits, and per limit its index, limit, window ms.
// Returns per group: m; then per limit: hits in the window before the group, µs until the
// oldest hit leaves, µs until the hit whose departure makes room leaves (-1 when not full).
const SLIDING_WINDOW_LOG = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local logs = {}
local out = {}
local function weightOf(member) return tonumber(string.match(member, '^(%d+)')) end
local function logOf(li, windowMs)
  local k = logs[li]
  if k then return k end
  local zkey, ckey = KEYS[li * 2 - 1], KEYS[li * 2]
  local window = tonumber(windowMs) * 1000
  local raw = redis.call('GET', ckey)
  local count, oldest
  if raw then
    local c, o = string.match(raw, '^(%d+):(%d+)$')
    if c then count, oldest = tonumber(c), tonumber(o) else count = tonumber(raw) end
  end
  -- The counter remembers the oldest entry's time: while it is inside the window nothing
  -- has expired, and the log is not read at all.
  if count and oldest and oldest > now - window then
    k = { zkey = zkey, ckey = ckey, window = window, windowMs = windowMs, stored = count, count = count, pruned = false, scores = { [0] = oldest } }
    logs[li] = k
    return k
  end
  local expired = redis.call('ZRANGEBYSCORE', zkey, '-inf', now - window)
  if #expired > 0 then redis.call('ZREMRANGEBYSCORE', zkey, '-inf', now - window) end
  if count then
    for _, member in ipairs(expired) do count = count - weightOf(member) end
  else
    -- No counter (first use, or lost to eviction): count the log itself.
    count = 0
    for _, member in ipairs(redis.call('ZRANGE', zkey, 0, -1)) do count = count + weightOf(member) end
  end
  k = { zkey = zkey, ckey = ckey, window = window, windowMs = windowMs, stored = count, count = count, pruned = #expired > 0, scores = {} }
  logs[li] = k
  return k
end
-- Time of the index-th oldest hit; hits admitted by this batch sit at 'now', after all others.
local function scoreAt(k, index)
  if index >= k.stored then return now end
  local score = k.scores[index]
  if score then return score end
  -- Entries are read a page at a time, the first page holding one: mostly the oldest is asked.
  local seen, start, size = 0, 0, 1
  while not score do
    local page = redis.call('ZRANGE', k.zkey, start, start + size - 1, 'WITHSCORES')
    if #page == 0 then score = now end
    for p = 1, #page, 2 do
      seen = seen + weightOf(page[p])
      if index < seen then
        score = tonumber(page[p + 1])
        break
      end
    end
    start = start + size
    size = 32
  end
  k.scores[index] = score
  return score
end
local i = 2
while i <= #ARGV do
  local n, limits = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  i = i + 2
  local group = {}
  local m = n
  for j = 1, limits do
    local k = logOf(tonumber(ARGV[i]), ARGV[i + 2])
    local limit = tonumber(ARGV[i + 1])
    i = i + 3
    group[j] = { k, limit }
    if limit - k.count < m then m = limit - k.count end
  end
  if m < 0 then m = 0 end
  out[#out + 1] = m
  for j = 1, limits do
    local k, limit = group[j][1], group[j][2]
    out[#out + 1] = k.count
    k.count = k.count + m
    out[#out + 1] = scoreAt(k, 0) + k.window - now
    if k.count >= limit then out[#out + 1] = scoreAt(k, k.count - limit) + k.window - now else out[#out + 1] = -1 end
  end
end
-- The counter's value: the count, and the oldest entry's time when there is one.
local function counterOf(k)
  if k.count == 0 then return '0' end
  return k.count .. ':' .. string.format('%d', scoreAt(k, 0))
end
for _, k in pairs(logs) do
  local added = k.count - k.stored
  if added > 0 then
    redis.call('ZADD', k.zkey, now, added .. ':' .. ARGV[1])
    redis.call('PEXPIRE', k.zkey, k.windowMs)
    redis.call('SET', k.ckey, counterOf(k), 'PX', k.windowMs)
  elseif k.pruned then
    redis.call('SET', k.ckey, counterOf(k), 'KEEPTTL')
  end
end
return out
`;

// One script under several names: with the key count fixed (up to MAX_FIXED_KEYS) ioredis
// takes the keys first, which its Cluster auto-pipelining needs to route a call by its
// first key; larger batches (never on a Cluster) pass the count first.
const COMMAND = 'rampartSlidingWindowLog';
const MAX_FIXED_KEYS = 8;
const MAX_IN_FLIGHT = 1;
const STUCK_CALL_MS = 1_000;

type ScriptCall = (...keysThenArgs: Array<string | number>) => Promise<number[]>;
type ScriptedClient = (Redis | Cluster) & Record<string, ScriptCall | undefined>;

export interface RedisStoreOptions {
  /** A connected client (standalone, Sentinel-managed or Cluster); the store does not own it. */
  client: Redis | Cluster;
  prefix: string;
}

interface PendingRequest {
  resolve(decisions: Decision[]): void;
  reject(error: unknown): void;
}

/** Requests of one batch that count against the same limits. */
interface Group {
  hits: readonly Hit[];
  requests: PendingRequest[];
}

/**
 * The sliding-window log in Redis, shared by every instance. Requests are gathered until
 * the event loop has handled every one that was ready, then sent as one EVALSHA (ioredis
 * falls back to EVAL when the server lost its script cache, e.g. after a restart): under
 * load a round trip and a script call serve many requests instead of one each.
 */
export function createRedisStore(options: RedisStoreOptions): RateLimitStore {
  const client = options.client as unknown as ScriptedClient;
  const scripts = new Map<string, ScriptCall>();
  const script = (keyCount: number): ScriptCall => {
    const name = keyCount <= MAX_FIXED_KEYS ? `${COMMAND}${keyCount}` : COMMAND;
    let call = scripts.get(name);
    if (!call) {
      if (typeof client[name] !== 'function') {
        options.client.defineCommand(name, keyCount <= MAX_FIXED_KEYS ? { lua: SLIDING_WINDOW_LOG, numberOfKeys: keyCount } : { lua: SLIDING_WINDOW_LOG });
      }
      // A batch is already one call per round trip: the shared connection's auto-pipelining
      // would only wrap it in a Pipeline and defer it a tick (measured: ~5 % of a limited
      // request's CPU). The Cluster client routes a plain call by its first key all the same.
      // A new array: ioredis may share its default one between clients.
      const ignored = options.client.options.autoPipeliningIgnoredCommands ?? [];
      if (!ignored.includes(name)) options.client.options.autoPipeliningIgnoredCommands = [...ignored, name];
      call = client[name]!.bind(client);
      scripts.set(name, call);
    }
    return call;
  };
  // Keys in one script call must share a Cluster slot. A key's hash tag is its identity
  // (`rl:global:{ip:192.0.2.1}`), so one client's tiers share a slot; on a Cluster a batch
  // is split per identity, elsewhere one call carries every key.
  const cluster = (options.client as { isCluster?: boolean }).isCluster === true;
  // Log entries must be unique, even two in one microsecond from two instances: a random id
  // per store plus a batch counter (short: each entry costs Redis memory).
  const instance = randomBytes(6).toString('base64url');
  let batches = 0;
  // Per batch: groups by the limits they count against, in order of first arrival, and an
  // index by their first limit's key (comparing hit lists is cheaper, per request, than
  // building a signature string of every key, limit and window to look one up by).
  let pending: Group[] = [];
  let pendingByFirstKey = new Map<string, Group[]>();

  const logKey = (key: string) => {
    const colon = key.indexOf(':');
    return colon < 0 ? `${options.prefix}rl:{${key}}` : `${options.prefix}rl:${key.slice(0, colon)}:{${key.slice(colon + 1)}}`;
  };
  const identityOf = (key: string) => key.slice(key.indexOf(':') + 1);

  const send = (groups: readonly Group[]) => {
    batches = (batches + 1) % Number.MAX_SAFE_INTEGER;
    const keys: string[] = [];
    const limitIndex = new Map<string, number>();
    const args: Array<string | number> = [`${instance}${batches.toString(36)}`];
    for (const { hits, requests } of groups) {
      args.push(requests.length, hits.length);
      for (const hit of hits) {
        let index = limitIndex.get(hit.key);
        if (index === undefined) {
          const log = logKey(hit.key);
          keys.push(log, `${log}:n`);
          index = keys.length / 2;
          limitIndex.set(hit.key, index);
        }
        args.push(index, hit.limit, hit.windowMs);
      }
    }
    const call = keys.length <= MAX_FIXED_KEYS ? script(keys.length)(...keys, ...args) : script(keys.length)(keys.length, ...keys, ...args);
    return call.then(
      (out) => {
        let at = 0;
        for (const { hits, requests } of groups) {
          const admitted = out[at++]!;
          const limits = hits.map((hit) => {
            const [before, oldestUs, freeingUs] = [out[at]!, out[at + 1]!, out[at + 2]!];
            at += 3;
            return { hit, before, oldestMs: Math.max(0, Math.ceil(oldestUs / 1000)), freeingMs: Math.max(0, Math.ceil(freeingUs / 1000)) };
          });
          requests.forEach((request, j) => request.resolve(limits.map(({ hit, before, oldestMs, freeingMs }) => decide(hit.limit, before, admitted, j, oldestMs, freeingMs))));
        }
      },
      (error: unknown) => {
        for (const { requests } of groups) for (const request of requests) request.reject(error);
      },
    );
  };

  // A client that throws instead of rejecting must not leave a batch waiting or hold the slot.
  const sendSafely = (groups: readonly Group[]): Promise<void> => {
    try {
      return send(groups);
    } catch (error) {
      for (const { requests } of groups) for (const request of requests) request.reject(error);
      return Promise.resolve();
    }
  };

  // At most MAX_IN_FLIGHT script calls at a time: requests arriving meanwhile wait for the
  // next call, so under load batches grow with the round trip instead of calls multiplying
  // (group commit).
  let inFlight = 0;
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const groups = pending;
    pending = [];
    pendingByFirstKey = new Map();
    inFlight++;
    let calls: Array<Promise<void>>;
    if (!cluster) {
      calls = [sendSafely(groups)];
    } else {
      const bySlot = new Map<string, Group[]>();
      for (const group of groups) {
        const identity = identityOf(group.hits[0]!.key);
        const slot = bySlot.get(identity);
        if (slot) slot.push(group);
        else bySlot.set(identity, [group]);
      }
      calls = [...bySlot.values()].map(sendSafely);
    }
    // A client without a command timeout could leave a call unanswered forever: past
    // STUCK_CALL_MS it stops holding back the next batch.
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(stuck);
      inFlight--;
      schedule();
    };
    const stuck = setTimeout(release, STUCK_CALL_MS);
    void Promise.allSettled(calls).then(release);
  };
  const schedule = () => {
    if (scheduled || inFlight >= MAX_IN_FLIGHT || pending.length === 0) return;
    scheduled = true;
    // setImmediate runs after the poll phase: every request already readable joins.
    setImmediate(flush);
  };

  const enqueue = (hits: readonly Hit[]) =>
    new Promise<Decision[]>((resolve, reject) => {
      const first = hits[0]!.key;
      const candidates = pendingByFirstKey.get(first);
      const group = candidates?.find((candidate) => sameLimits(candidate.hits, hits));
      if (group) {
        group.requests.push({ resolve, reject });
      } else {
        const added = { hits, requests: [{ resolve, reject }] };
        pending.push(added);
        if (candidates) candidates.push(added);
        else pendingByFirstKey.set(first, [added]);
      }
      schedule();
    });

  return {
    // Not async: on the request path, an async wrapper around enqueue's promise costs a
    // second promise and two more microtask turns.
    hitAll(hits) {
      if (hits.length === 0) return Promise.resolve([]);
      if (!cluster || hits.every((hit) => identityOf(hit.key) === identityOf(hits[0]!.key))) return enqueue(hits);
      // On a Cluster, limits of different identities live in different slots and cannot be
      // decided in one script: each is then decided on its own (recorded if it has room).
      return Promise.all(hits.map((hit) => enqueue([hit]))).then((decisions) => decisions.flat());
    },
    async hit(key, limit, windowMs) {
      return (await enqueue([{ key, limit, windowMs }]))[0]!;
    },
    // The connection is shared; its owner closes it.
    async close() {},
  };
}

function sameLimits(a: readonly Hit[], b: readonly Hit[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.key !== y.key || x.limit !== y.limit || x.windowMs !== y.windowMs) return false;
  }
  return true;
}

/**
 * The decision for the j-th request of a group of which `admitted` got in, on a limit that
 * held `before` hits ahead of the group.
 */
function decide(limit: number, before: number, admitted: number, j: number, oldestMs: number, freeingMs: number): Decision {
  if (j < admitted) return { allowed: true, limit, remaining: Math.max(0, limit - (before + j + 1)), resetMs: oldestMs };
  const count = before + admitted;
  return count < limit ? { allowed: true, limit, remaining: limit - count, resetMs: oldestMs } : { allowed: false, limit, remaining: 0, resetMs: freeingMs };
}
