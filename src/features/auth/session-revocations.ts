import { sessionIsDead, type Db } from './store.js';

/** Answers "is this session revoked?" for every authenticated request, cheaply. */
export interface SessionRevocations {
  isRevoked(sessionId: string): Promise<boolean>;
  /** Revoked here: this instance refuses the session at once, without waiting for the cache. */
  markRevoked(sessionId: string): void;
}

const MAX_ENTRIES = 50_000;

/**
 * Postgres is the truth (every instance sees a revocation); answers are cached in memory
 * for at most `ttlMs`, so a revocation elsewhere takes effect here within that time, and
 * concurrent requests on one session share one lookup.
 */
export function createSessionRevocations(db: Db, ttlMs = 1_000): SessionRevocations {
  const cache = new Map<string, { revoked: boolean; at: number }>();
  const pending = new Map<string, Promise<boolean>>();

  const remember = (sessionId: string, revoked: boolean) => {
    // A crude bound; entries live a second, so dropping them all costs one lookup each.
    if (cache.size >= MAX_ENTRIES) cache.clear();
    cache.set(sessionId, { revoked, at: Date.now() });
  };

  return {
    isRevoked(sessionId) {
      const cached = cache.get(sessionId);
      if (cached && Date.now() - cached.at < ttlMs) return Promise.resolve(cached.revoked);
      let lookup = pending.get(sessionId);
      if (!lookup) {
        lookup = sessionIsDead(db, sessionId)
          .then((revoked) => {
            remember(sessionId, revoked);
            return revoked;
          })
          .finally(() => pending.delete(sessionId));
        pending.set(sessionId, lookup);
      }
      return lookup;
    },
    markRevoked(sessionId) {
      remember(sessionId, true);
    },
  };
}
