import { createHmac } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import { HttpProblem } from '../../platform/http/problem.js';
import { UNCOUNTED, type AuthCounters } from './auth-metrics.js';
import { deriveSealingKey } from './secret-sealing.js';
import { writeAuditEvent, type Db, type RequestContext } from './store.js';

/**
 * What is counted. Account scopes hold a keyed hash of the normalised email (login), a user
 * id (MFA) or a token hash (reset); `*-ip` scopes hold the client address.
 */
export type ThrottleScope = 'login-account' | 'login-ip' | 'mfa-account' | 'mfa-ip' | 'reset-token' | 'reset-ip';

export interface ThrottleKey {
  scope: ThrottleScope;
  subject: string;
}

export interface ThrottlePolicy {
  /** Failures after which every further attempt waits (1 s, doubling). */
  delayAfter: number;
  /** Failures after which the subject is locked for `lockoutS`. */
  lockoutAfter: number;
  lockoutS: number;
  /** IP scopes use the thresholds times this: many users can share one NAT address. */
  ipFactor: number;
}

export interface Thresholds {
  delayAfter: number;
  lockoutAfter: number;
  lockoutS: number;
}

// Doubling stops here: past a minute a delay is a lock in all but name, and the lock has its own setting.
export const MAX_DELAY_S = 60;
// Counters fall back to zero this long after the last failure (or after the lockout, if longer).
export const DECAY_S = 15 * 60;

export const thresholdsFor = (policy: ThrottlePolicy, scope: ThrottleScope): Thresholds =>
  scope.endsWith('-ip')
    ? { delayAfter: policy.delayAfter * policy.ipFactor, lockoutAfter: policy.lockoutAfter * policy.ipFactor, lockoutS: policy.lockoutS }
    : { delayAfter: policy.delayAfter, lockoutAfter: policy.lockoutAfter, lockoutS: policy.lockoutS };

/**
 * Seconds the next attempt must wait after the last failure: none below `delayAfter`, then
 * 1 s doubling per failure (at most `MAX_DELAY_S`, never more than the lockout), and from
 * `lockoutAfter` on the whole lockout.
 */
export function waitAfterFailureS(failures: number, thresholds: Thresholds): number {
  if (failures >= thresholds.lockoutAfter) return thresholds.lockoutS;
  if (failures < thresholds.delayAfter) return 0;
  return Math.min(2 ** (failures - thresholds.delayAfter), MAX_DELAY_S, thresholds.lockoutS);
}

/** 429 `too-many-attempts`; the `onError` hook below turns `retryAfterS` into `Retry-After`. */
export class TooManyAttempts extends HttpProblem {
  constructor(readonly retryAfterS: number) {
    super(429, 'too-many-attempts', `Too many failed attempts; try again in ${retryAfterS} s.`);
  }
}

/** Registered on the auth routes' scope: the problem handler knows nothing of `Retry-After`. */
export async function retryAfterHeader(_request: FastifyRequest, reply: FastifyReply, error: Error): Promise<void> {
  if (error instanceof TooManyAttempts) reply.header('retry-after', String(error.retryAfterS));
}

export interface Verdict {
  /** Seconds until an attempt is allowed; 0: allowed now. */
  retryAfterS: number;
  /** The keys that have a live counter (so a success knows whether there is anything to reset). */
  counted: ThrottleKey[];
}

export interface BruteForceGuard {
  policy: ThrottlePolicy;
  /** The subject for an email: a keyed hash, so the table never holds an address and cannot be reversed with a dictionary. */
  accountSubject(email: string): string;
  verdict(db: Db, keys: ThrottleKey[], now?: Date): Promise<Verdict>;
  /** Throws `TooManyAttempts` when any key must still wait; returns the verdict otherwise. */
  assertAllowed(db: Db, keys: ThrottleKey[], now?: Date): Promise<Verdict>;
  /** Counts one failure for every key in one statement; writes `auth.lockout` when a key reaches the lock. */
  recordFailure(db: Db, keys: ThrottleKey[], context: RequestContext, actor?: { tenantId: string; actorId: string }, now?: Date): Promise<void>;
  /** After a success: the account's counter starts again (IP counters do not, or one good account would clear them). */
  reset(db: Db, keys: ThrottleKey[]): Promise<void>;
}

const matching = (keys: ThrottleKey[]) => sql<boolean>`(scope, subject) in (${sql.join(keys.map((k) => sql`(${k.scope}, ${k.subject})`))})`;

export function createBruteForceGuard(policy: ThrottlePolicy, appSecret: string, counters: AuthCounters = UNCOUNTED): BruteForceGuard {
  const subjectKey = deriveSealingKey(appSecret, 'auth-throttle-subject/hmac-sha256/v1');
  const decayMs = Math.max(DECAY_S, policy.lockoutS) * 1000;

  async function verdict(db: Db, keys: ThrottleKey[], now = new Date()): Promise<Verdict> {
    if (keys.length === 0) return { retryAfterS: 0, counted: [] };
    const rows = await db.selectFrom('auth_throttle').select(['scope', 'subject', 'failures', 'last_failure_at']).where(matching(keys)).execute();
    let retryAfterMs = 0;
    const counted: ThrottleKey[] = [];
    for (const row of rows) {
      const sinceMs = now.getTime() - row.last_failure_at.getTime();
      if (sinceMs >= decayMs) continue;
      counted.push({ scope: row.scope as ThrottleScope, subject: row.subject });
      const waitMs = waitAfterFailureS(row.failures, thresholdsFor(policy, row.scope as ThrottleScope)) * 1000;
      // A concurrent request may have stamped its failure after our clock reading (sinceMs < 0):
      // below the threshold that must not turn into a wait, and above it the wait starts at the failure.
      if (waitMs > 0) retryAfterMs = Math.max(retryAfterMs, waitMs - Math.max(0, sinceMs));
    }
    return { retryAfterS: retryAfterMs > 0 ? Math.ceil(retryAfterMs / 1000) : 0, counted };
  }

  return {
    policy,
    accountSubject: (email) => createHmac('sha256', subjectKey).update(email.trim().toLowerCase()).digest('base64url'),
    verdict,
    async assertAllowed(db, keys, now) {
      const result = await verdict(db, keys, now);
      if (result.retryAfterS > 0) {
        counters.failure('locked');
        throw new TooManyAttempts(result.retryAfterS);
      }
      return result;
    },
    async recordFailure(db, keys, context, actor, now = new Date()) {
      if (keys.length === 0) return;
      const decayedBefore = new Date(now.getTime() - decayMs);
      const rows = await db
        .insertInto('auth_throttle')
        .values(keys.map((k) => ({ scope: k.scope, subject: k.subject, failures: 1, last_failure_at: now })))
        .onConflict((oc) => oc.columns(['scope', 'subject']).doUpdateSet({
          failures: sql<number>`case when auth_throttle.last_failure_at < ${decayedBefore} then 1 else auth_throttle.failures + 1 end`,
          last_failure_at: now,
        }))
        .returning(['scope', 'failures'])
        .execute();
      for (const row of rows) {
        const thresholds = thresholdsFor(policy, row.scope as ThrottleScope);
        if (row.failures !== thresholds.lockoutAfter) continue;
        const accountScope = !row.scope.endsWith('-ip');
        counters.lockout(accountScope ? 'account' : 'ip');
        await writeAuditEvent(db, context, {
          action: 'auth.lockout',
          tenantId: accountScope ? actor?.tenantId : undefined,
          actorId: accountScope ? actor?.actorId : undefined,
          details: { scope: row.scope, failures: row.failures, locked_for_s: thresholds.lockoutS },
        });
      }
    },
    async reset(db, keys) {
      if (keys.length === 0) return;
      await db.deleteFrom('auth_throttle').where(matching(keys)).execute();
    },
  };
}
