import type { Cluster, Redis } from 'ioredis';
import type { Logger } from '../../platform/log/logger.js';
import { sessionIsDead, type Db } from './store.js';

/** Answers "is this session revoked?" for every authenticated request, cheaply. */
export interface SessionRevocations {
  isRevoked(sessionId: string): Promise<boolean>;
  /** Revoked here: this instance refuses the session at once, without waiting for the cache. */
  markRevoked(sessionId: string): void;
  /** Ends the subscriber connection, when there is one. */
  close?(): Promise<void>;
}

/** With several instances: revocations are announced on `${prefix}session-revoked`. */
export interface SharedRevocations {
  redis: Redis | Cluster;
  prefix: string;
  logger: Pick<Logger, 'warn'>;
}

const MAX_ENTRIES = 50_000;

/**
 * Postgres is the truth (every instance sees a revocation); answers are cached in memory
 * for at most `ttlMs`, so a revocation elsewhere takes effect here within that time, and
 * concurrent requests on one session share one lookup. With `shared`, a revocation is also
 * published so the other instances refuse the session at once; a lost message (Redis away)
 * only falls back to the `ttlMs` bound.
 */
export function createSessionRevocations(db: Db, ttlMs = 1_000, shared?: SharedRevocations): SessionRevocations {
  const cache = new Map<string, { revoked: boolean; at: number }>();
  const pending = new Map<string, Promise<boolean>>();

  const remember = (sessionId: string, revoked: boolean) => {
    // A crude bound; entries live a second, so dropping them all costs one lookup each.
    if (cache.size >= MAX_ENTRIES) cache.clear();
    cache.set(sessionId, { revoked, at: Date.now() });
  };

  const channel = shared && `${shared.prefix}session-revoked`;
  let subscriber: Redis | Cluster | undefined;
  if (shared && channel) {
    subscriber = shared.redis.duplicate();
    subscriber.on('error', () => {});
    subscriber.on('message', (from: string, sessionId: string) => {
      if (from === channel) remember(sessionId, true);
    });
    subscriber.on('ready', () => {
      subscriber?.subscribe(channel).catch((err: unknown) => shared.logger.warn({ err }, 'could not subscribe to session revocations'));
    });
    if (subscriber.status === 'wait') subscriber.connect().catch(() => {});
  }

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
      if (shared && channel) {
        shared.redis.publish(channel, sessionId).catch((err: unknown) => shared.logger.warn({ err }, 'could not announce a session revocation; other instances see it within a second'));
      }
    },
    async close() {
      subscriber?.disconnect();
    },
  };
}
