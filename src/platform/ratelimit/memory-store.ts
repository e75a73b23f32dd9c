import type { Decision, Hit, RateLimitStore } from './store.js';

export interface MemoryStoreOptions {
  /** Most keys kept; past it idle keys are swept, then the least recently used go. */
  maxKeys?: number;
  /** Milliseconds, monotonic. Tests pass a controllable clock. */
  now?: () => number;
}

interface Log {
  /** Times of allowed hits, oldest first. */
  stamps: number[];
  windowMs: number;
}

/** The sliding-window log in process memory, for embedded mode (one instance). */
export function createMemoryStore(options: MemoryStoreOptions = {}): RateLimitStore & { size(): number } {
  const maxKeys = options.maxKeys ?? 100_000;
  const now = options.now ?? (() => performance.now());
  // Map order doubles as recency: a hit moves its key to the end.
  const logs = new Map<string, Log>();

  const sweepIdle = (at: number) => {
    for (const [key, log] of logs) {
      const newest = log.stamps[log.stamps.length - 1];
      if (newest === undefined || at - newest >= log.windowMs) logs.delete(key);
    }
  };

  // The key's log with every hit older than the window dropped.
  const currentLog = (key: string, windowMs: number, at: number): Log => {
    let log = logs.get(key);
    if (log) {
      logs.delete(key);
    } else {
      if (logs.size >= maxKeys) sweepIdle(at);
      if (logs.size >= maxKeys) logs.delete(logs.keys().next().value!);
      log = { stamps: [], windowMs };
    }
    logs.set(key, log);
    log.windowMs = windowMs;
    const stamps = log.stamps;
    let expired = 0;
    while (expired < stamps.length && at - stamps[expired]! >= windowMs) expired++;
    if (expired > 0) stamps.splice(0, expired);
    return log;
  };

  const hitAll = (hits: readonly Hit[]): Decision[] => {
    const at = now();
    const found = hits.map((hit) => ({ hit, stamps: currentLog(hit.key, hit.windowMs, at).stamps }));
    const room = found.map(({ hit, stamps }) => stamps.length < hit.limit);
    const record = room.every(Boolean);
    return found.map(({ hit, stamps }, i) => {
      if (record) stamps.push(at);
      // When refused, room appears when the hit at index (count - limit) leaves; that is the
      // oldest unless the limit was lowered while the log was full.
      const freeing = room[i] ? (stamps[0] ?? at) : stamps[stamps.length - hit.limit]!;
      return {
        allowed: room[i]!,
        limit: hit.limit,
        remaining: Math.max(0, hit.limit - stamps.length),
        resetMs: Math.max(0, Math.ceil(freeing + hit.windowMs - at)),
      };
    });
  };

  return {
    async hitAll(hits) {
      return hitAll(hits);
    },
    async hit(key, limit, windowMs) {
      return hitAll([{ key, limit, windowMs }])[0]!;
    },
    async close() {
      logs.clear();
    },
    size: () => logs.size,
  };
}
