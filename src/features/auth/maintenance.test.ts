import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { databaseTargets, freshDatabasePerTest } from '../../../test/support/databases.js';
import { migrateUp } from '../../platform/db/migrations.js';
import { pruneExpiredAuthRows } from './maintenance.js';
import type { Db } from './store.js';

const ago = (interval: string) => sql<Date>`now() - ${interval}::interval`;
const ahead = (interval: string) => sql<Date>`now() + ${interval}::interval`;

async function seedUser(db: Db, email: string): Promise<string> {
  const tenant = await db.insertInto('tenants').values({ name: email }).returning('id').executeTakeFirstOrThrow();
  const user = await db.insertInto('users').values({ tenant_id: tenant.id, email, password_hash: 'x' }).returning(['id', 'tenant_id']).executeTakeFirstOrThrow();
  return user.id;
}

async function seedSession(db: Db, userId: string, created: string, tokenExpiries: string[], revoked?: string): Promise<string> {
  const { tenant_id } = await db.selectFrom('users').select('tenant_id').where('id', '=', userId).executeTakeFirstOrThrow();
  const session = await db
    .insertInto('sessions')
    .values({ user_id: userId, tenant_id, created_at: ago(created), revoked_at: revoked ? ago(revoked) : null })
    .returning(['id', 'family_id'])
    .executeTakeFirstOrThrow();
  let parent: string | null = null;
  for (const [i, expiry] of tokenExpiries.entries()) {
    const row: { id: string } = await db
      .insertInto('refresh_tokens')
      .values({ token_hash: `${session.id}-${i}`, session_id: session.id, family_id: session.family_id, parent_id: parent, expires_at: expiry.startsWith('-') ? ago(expiry.slice(1)) : ahead(expiry) })
      .returning('id')
      .executeTakeFirstOrThrow();
    parent = row.id;
  }
  return session.id;
}

describe.each(databaseTargets())('auth maintenance on $name', (factory) => {
  const fresh = freshDatabasePerTest(factory);

  it('deletes only rows dead for more than a day, and keeps live sessions whole', async () => {
    await migrateUp(fresh.handle);
    const { db } = fresh.handle;
    const userId = await seedUser(db, 'ada@example.com');
    await db
      .insertInto('mfa_challenges')
      .values([
        { token_hash: 'old', user_id: userId, expires_at: ago('2 days') },
        { token_hash: 'recent', user_id: userId, expires_at: ago('1 hour') },
        { token_hash: 'live', user_id: userId, expires_at: ahead('5 minutes') },
      ])
      .execute();
    await db
      .insertInto('password_resets')
      .values([
        { token_hash: 'expired-long-ago', user_id: userId, expires_at: ago('3 days') },
        { token_hash: 'used-long-ago', user_id: userId, expires_at: ahead('1 hour'), used_at: ago('2 days') },
        { token_hash: 'used-just-now', user_id: userId, expires_at: ahead('1 hour'), used_at: ago('1 minute') },
        { token_hash: 'pending', user_id: userId, expires_at: ahead('30 minutes') },
      ])
      .execute();
    const pending = (token: string) => ({ email_hash: token, email_encrypted: 'sealed', password_hash: 'x', token_hash: token });
    await db
      .insertInto('signup_verifications')
      .values([
        { ...pending('signup-expired-long-ago'), expires_at: ago('2 days') },
        { ...pending('signup-used-long-ago'), expires_at: ahead('1 hour'), used_at: ago('3 days') },
        { ...pending('signup-expired-just-now'), expires_at: ago('1 minute') },
        { ...pending('signup-pending'), expires_at: ahead('23 hours') },
      ])
      .execute();
    const live = await seedSession(db, userId, '40 days', ['-30 days', '-20 days', '20 days']);
    const expired = await seedSession(db, userId, '40 days', ['-30 days', '-2 days']);
    const recentlyExpired = await seedSession(db, userId, '40 days', ['-2 hours']);
    const revokedLongAgo = await seedSession(db, userId, '5 days', ['20 days'], '2 days');
    const revokedNow = await seedSession(db, userId, '5 days', ['20 days'], '1 minute');

    const pruned = await pruneExpiredAuthRows(db);

    expect(pruned).toEqual({ mfaChallenges: 1, passwordResets: 2, signupVerifications: 2, sessions: 2 });
    const signups = await db.selectFrom('signup_verifications').select('token_hash').orderBy('token_hash').execute();
    expect(signups.map((r) => r.token_hash)).toEqual(['signup-expired-just-now', 'signup-pending']);
    const challenges = await db.selectFrom('mfa_challenges').select('token_hash').orderBy('token_hash').execute();
    expect(challenges.map((r) => r.token_hash)).toEqual(['live', 'recent']);
    const resets = await db.selectFrom('password_resets').select('token_hash').orderBy('token_hash').execute();
    expect(resets.map((r) => r.token_hash)).toEqual(['pending', 'used-just-now']);
    const sessions = await db.selectFrom('sessions').select('id').execute();
    expect(new Set(sessions.map((s) => s.id))).toEqual(new Set([live, recentlyExpired, revokedNow]));
    expect(sessions.map((s) => s.id)).not.toContain(expired);
    expect(sessions.map((s) => s.id)).not.toContain(revokedLongAgo);
    const liveTokens = await db.selectFrom('refresh_tokens').select('id').where('session_id', '=', live).execute();
    expect(liveTokens).toHaveLength(3);
    const orphans = await db.selectFrom('refresh_tokens').select('id').where('session_id', 'in', [expired, revokedLongAgo]).execute();
    expect(orphans).toEqual([]);

    expect(await pruneExpiredAuthRows(db)).toEqual({ mfaChallenges: 0, passwordResets: 0, signupVerifications: 0, sessions: 0 });
  });
});
