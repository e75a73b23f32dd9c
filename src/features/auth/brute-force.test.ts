import { describe, expect, it } from 'vitest';
import { migrateUp } from '../../platform/db/migrations.js';
import { databaseTargets, freshDatabasePerTest } from '../../../test/support/databases.js';
import { createBruteForceGuard, DECAY_S, MAX_DELAY_S, thresholdsFor, TooManyAttempts, waitAfterFailureS, type ThrottleKey } from './brute-force.js';

const policy = { delayAfter: 5, lockoutAfter: 10, lockoutS: 900, ipFactor: 5 };
const account = thresholdsFor(policy, 'login-account');

describe('the delay schedule', () => {
  it('lets the first failures through without waiting', () => {
    expect([0, 1, 2, 3, 4].map((n) => waitAfterFailureS(n, account))).toEqual([0, 0, 0, 0, 0]);
  });

  it('makes each attempt after the fifth failure wait 1 s, doubling per failure', () => {
    expect([5, 6, 7, 8, 9].map((n) => waitAfterFailureS(n, account))).toEqual([1, 2, 4, 8, 16]);
  });

  it('locks for the whole lockout from the tenth failure on', () => {
    expect(waitAfterFailureS(10, account)).toBe(900);
    expect(waitAfterFailureS(50, account)).toBe(900);
  });

  it('caps the delay at a minute, and never above the lockout', () => {
    const long = { delayAfter: 1, lockoutAfter: 100, lockoutS: 900 };
    expect(waitAfterFailureS(40, long)).toBe(MAX_DELAY_S);
    expect(waitAfterFailureS(5, { delayAfter: 1, lockoutAfter: 100, lockoutS: 3 })).toBe(3);
  });

  it('keys an account by a keyed hash of its address, never the address, whatever its letter case', () => {
    const guard = createBruteForceGuard(policy, 'an-app-secret-of-at-least-32-characters');
    const subject = guard.accountSubject('Alice@Example.com');
    expect(subject).toBe(guard.accountSubject('alice@example.com'));
    expect(subject).not.toContain('alice');
    expect(createBruteForceGuard(policy, 'another-app-secret-of-32-characters!!').accountSubject('alice@example.com')).not.toBe(subject);
  });

  it('gives IP counters thresholds times the IP factor, since many users share one address', () => {
    expect(thresholdsFor(policy, 'login-ip')).toEqual({ delayAfter: 25, lockoutAfter: 50, lockoutS: 900 });
    expect(waitAfterFailureS(9, thresholdsFor(policy, 'mfa-ip'))).toBe(0);
  });
});

const context = { ip: '192.0.2.7', userAgent: 'vitest', correlationId: 'corr-brute-force' };

describe.each(databaseTargets())('the failure counters on $name', (factory) => {
  const fresh = freshDatabasePerTest(factory);
  const guard = createBruteForceGuard({ delayAfter: 2, lockoutAfter: 4, lockoutS: 60, ipFactor: 2 }, 'an-app-secret-of-at-least-32-characters');
  const t0 = new Date('2026-01-01T00:00:00Z');
  const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
  const keysFor = (email: string): ThrottleKey[] => [{ scope: 'login-account', subject: guard.accountSubject(email) }, { scope: 'login-ip', subject: context.ip }];

  it('counts concurrent failures exactly (atomic upsert) and refuses with the time left', async () => {
    await migrateUp(fresh.handle);
    const db = fresh.handle.db;
    const keys = keysFor('a@example.com');
    await Promise.all([1, 2, 3].map(() => guard.recordFailure(db, keys, context, undefined, t0)));

    const rows = await db.selectFrom('auth_throttle').select(['scope', 'failures']).orderBy('scope').execute();
    expect(rows).toEqual([{ scope: 'login-account', failures: 3 }, { scope: 'login-ip', failures: 3 }]);
    // Three failures, delay after two: 2^(3-2) = 2 s after the last one.
    await expect(guard.assertAllowed(db, keys, at(0.5))).rejects.toMatchObject({ status: 429, slug: 'too-many-attempts', retryAfterS: 2 });
    expect((await guard.verdict(db, keys, at(2))).retryAfterS).toBe(0);
  });

  it('locks at the threshold, writes auth.lockout once, and forgets after the decay window', async () => {
    await migrateUp(fresh.handle);
    const db = fresh.handle.db;
    const keys = keysFor('b@example.com');
    for (let i = 0; i < 5; i++) await guard.recordFailure(db, keys, context, { tenantId: '00000000-0000-4000-8000-000000000001', actorId: '00000000-0000-4000-8000-000000000002' }, t0);

    const refusal = await guard.assertAllowed(db, keys, at(59)).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(TooManyAttempts);
    expect((refusal as TooManyAttempts).retryAfterS).toBe(1);
    const lockouts = await db.selectFrom('audit_events').select(['action', 'details', 'actor_id']).where('action', '=', 'auth.lockout').execute();
    expect(lockouts).toEqual([{ action: 'auth.lockout', actor_id: '00000000-0000-4000-8000-000000000002', details: { scope: 'login-account', failures: 4, locked_for_s: 60 } }]);

    const later = at(DECAY_S + 1);
    expect(await guard.verdict(db, keys, later)).toEqual({ retryAfterS: 0, counted: [] });
    await guard.recordFailure(db, keys, context, undefined, later);
    const row = await db.selectFrom('auth_throttle').select('failures').where('scope', '=', 'login-account').executeTakeFirstOrThrow();
    expect(row.failures).toBe(1);
  });

  it('never makes an attempt wait for a failure recorded a moment after its own clock reading', async () => {
    // Concurrent requests: another one may record a failure stamped later than this check's "now".
    await migrateUp(fresh.handle);
    const db = fresh.handle.db;
    const keys = keysFor('d@example.com');
    await guard.recordFailure(db, keys, context, undefined, at(1));
    expect(await guard.verdict(db, keys, at(0.5))).toMatchObject({ retryAfterS: 0 });
    await guard.recordFailure(db, keys, context, undefined, at(1));
    // Past the delay threshold the wait still counts from the failure, not from the earlier reading.
    expect(await guard.verdict(db, keys, at(0.5))).toMatchObject({ retryAfterS: 1 });
  });

  it('reset clears the account counter only', async () => {
    await migrateUp(fresh.handle);
    const db = fresh.handle.db;
    const keys = keysFor('c@example.com');
    await guard.recordFailure(db, keys, context, undefined, t0);
    await guard.reset(db, [keys[0]!]);
    expect(await db.selectFrom('auth_throttle').select('scope').execute()).toEqual([{ scope: 'login-ip' }]);
  });
});
