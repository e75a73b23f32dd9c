import { describe, expect, it } from 'vitest';
import { HttpProblem } from '../../platform/http/problem.js';
import { databaseTargets, freshDatabasePerTest } from '../../../test/support/databases.js';
import { testIdentity } from '../../../test/support/identity.js';
import type { Identity, TokenPair } from './identity.js';
import { logIn } from './login.js';
import { rotateRefreshToken } from './refresh.js';
import { signUp } from './signup.js';

const context = { ip: '203.0.113.7', userAgent: 'vitest', correlationId: 'corr-refresh-test' };
const password = 'a sufficiently long passphrase';

describe.each(databaseTargets())('refresh token rotation ($name)', (factory) => {
  const fresh = freshDatabasePerTest(factory);

  async function signedIn(reuseIntervalS = 10): Promise<{ identity: Identity; refresh: string }> {
    const identity = await testIdentity(fresh.handle, { reuseIntervalS });
    await signUp(identity, 'rotation@example.com', password, context);
    const pair = await logIn(identity, 'rotation@example.com', password, context);
    // No MFA on this account: the answer is a token pair.
    return { identity, refresh: (pair as TokenPair).refresh_token };
  }

  const refused = (promise: Promise<unknown>) => expect(promise).rejects.toSatisfy((e) => e instanceof HttpProblem && e.status === 401 && e.slug === 'invalid-refresh-token');
  const seconds = (s: number) => new Date(Date.now() + s * 1000);

  it('replaces the token with a new one that works once in turn', async () => {
    const { identity, refresh } = await signedIn();
    const second = await rotateRefreshToken(identity, refresh, context);
    const third = await rotateRefreshToken(identity, second.refresh_token, context);

    expect(second.refresh_token).not.toBe(refresh);
    expect(third.refresh_token).not.toBe(second.refresh_token);
    expect(third.access_token).not.toBe(second.access_token);
  });

  it('gives a second caller within the reuse interval the very same pair', async () => {
    const { identity, refresh } = await signedIn(10);
    const first = await rotateRefreshToken(identity, refresh, context);
    const again = await rotateRefreshToken(identity, refresh, context, seconds(5));

    expect(again).toEqual(first);
  });

  it('revokes the whole family when a rotated token comes back after the interval, the newest token included', async () => {
    const { identity, refresh } = await signedIn(10);
    const newest = await rotateRefreshToken(identity, refresh, context);

    await refused(rotateRefreshToken(identity, refresh, context, seconds(11)));
    await refused(rotateRefreshToken(identity, newest.refresh_token, context));
    const session = await fresh.handle.db.selectFrom('sessions').select('revoked_at').executeTakeFirstOrThrow();
    expect(session.revoked_at).toBeInstanceOf(Date);
    const events = await fresh.handle.db.selectFrom('audit_events').selectAll().where('action', '=', 'auth.refresh.reused').execute();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ correlation_id: 'corr-refresh-test', ip: '203.0.113.7' });
  });

  it('with the interval at 0, any reuse revokes the family at once', async () => {
    const { identity, refresh } = await signedIn(0);
    const newest = await rotateRefreshToken(identity, refresh, context);

    await refused(rotateRefreshToken(identity, refresh, context));
    await refused(rotateRefreshToken(identity, newest.refresh_token, context));
  });

  it('refuses unknown and expired tokens without revoking anything', async () => {
    const { identity, refresh } = await signedIn();

    await refused(rotateRefreshToken(identity, 'not-a-token-we-issued', context));
    await refused(rotateRefreshToken(identity, refresh, context, seconds(3601)));
    expect(await rotateRefreshToken(identity, refresh, context)).toHaveProperty('refresh_token');
  });

  it('stores only hashes of refresh tokens', async () => {
    const { identity, refresh } = await signedIn();
    const next = await rotateRefreshToken(identity, refresh, context);
    const rows = await fresh.handle.db.selectFrom('refresh_tokens').select('token_hash').execute();

    expect(rows).toHaveLength(2);
    for (const { token_hash } of rows) expect([refresh, next.refresh_token]).not.toContain(token_hash);
  });
});
