/** The verdict on one hit against one limit. */
export interface Decision {
  /** This limit had room for the hit. */
  allowed: boolean;
  limit: number;
  /** Hits left in the window after this one. */
  remaining: number;
  /**
   * Milliseconds until the window has room again: when refused, until the hit that makes
   * room leaves the window (Retry-After); when allowed, until the oldest hit leaves.
   */
  resetMs: number;
}

/** One limit a request counts against. */
export interface Hit {
  /**
   * `scope:identity`, e.g. `global:ip:192.0.2.1`. The identity (after the first colon)
   * decides the Redis Cluster slot, so one client's limits can be decided together.
   */
  key: string;
  limit: number;
  windowMs: number;
}

/**
 * An exact sliding-window log: a hit is allowed when fewer than `limit` allowed hits fall in
 * the last `windowMs`; refused hits are not recorded. Two implementations: in-process
 * (embedded, one instance) and Redis (shared by every instance).
 */
export interface RateLimitStore {
  /**
   * One request against several limits at once: it is recorded in every log when every
   * limit has room, and in none otherwise, so a request refused by one tier does not use
   * up another's budget. Decisions come in the order of `hits`.
   */
  hitAll(hits: readonly Hit[]): Promise<Decision[]>;
  hit(key: string, limit: number, windowMs: number): Promise<Decision>;
  close(): Promise<void>;
}
