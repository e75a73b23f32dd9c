/** The verdict on one hit against one limit. */
export interface Decision {
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

/**
 * An exact sliding-window log: a hit is allowed when fewer than `limit` allowed hits fall in
 * the last `windowMs`; refused hits are not recorded. Two implementations: in-process
 * (embedded, one instance) and Redis (shared by every instance).
 */
export interface RateLimitStore {
  hit(key: string, limit: number, windowMs: number): Promise<Decision>;
  close(): Promise<void>;
}
