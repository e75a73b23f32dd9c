import { describe, expect, it } from 'vitest';
import { HttpProblem } from '../../platform/http/problem.js';
import { databaseTargets, freshDatabasePerTest } from '../../../test/support/databases.js';
import { testIdentity } from '../../../test/support/identity.js';
import type { Principal } from './access-tokens.js';
import type { Identity, TokenPair } from './identity.js';
import { logIn } from './login.js';
import { activateTotp } from './mfa-activate.js';
import { MFA_MAX_FAILED_ATTEMPTS, MFA_TOKEN_TTL_S, type MfaChallenge } from './mfa-challenge.js';
import { enrollTotp } from './mfa-enroll.js';
import { verifyMfa } from './mfa-verify.js';
import { generateTotp } from './primitives/totp.js';
import { signUp } from './signup.js';

const context = { ip: '198.51.100.9', userAgent: 'vitest', correlationId: 'corr-mfa-verify' };
const password = 'several words long enough';
const STEP_MS = 30_000;

describe.each(databaseTargets())('MFA sign-in ($name)', (factory) => {
  const fresh = freshDatabasePerTest(factory);
  const refusedAs = (slug: string) => (promise: Promise<unknown>) =>
    expect(promise).rejects.toSatisfy((e) => e instanceof HttpProblem && e.status === 401 && e.slug === slug);
  const invalidToken = refusedAs('invalid-mfa-token');
  const invalidCode = refusedAs('invalid-mfa-code');

  /** A user with TOTP on, activated with the code of the step before `now`. */
  async function withMfa(email = 'mfa@example.com'): Promise<{ identity: Identity; secret: string; backupCodes: string[]; now: number }> {
    const identity = await testIdentity(fresh.handle);
    const user = await signUp(identity, email, password, context);
    const principal: Principal = { userId: user.id, tenantId: user.tenant_id, role: 'admin', sessionId: '00000000-0000-4000-8000-000000000000' };
    const { secret } = await enrollTotp(identity, principal, context);
    const now = Date.now();
    const backupCodes = await activateTotp(identity, principal, generateTotp({ secret, now: now - STEP_MS }), context, now);
    return { identity, secret, backupCodes, now };
  }
  const challenge = async (identity: Identity, email = 'mfa@example.com') => ((await logIn(identity, email, password, context)) as MfaChallenge).mfa_token;

  it('creates the session only after the second step, and then returns a normal token pair', async () => {
    const { identity, secret, now } = await withMfa();
    const sessionsBefore = await fresh.handle.db.selectFrom('sessions').select('id').execute();
    const answer = await logIn(identity, 'mfa@example.com', password, context);
    expect(answer).toEqual({ mfa_required: true, mfa_token: expect.stringMatching(/^[\w-]{43}$/) });
    expect(await fresh.handle.db.selectFrom('sessions').select('id').execute()).toEqual(sessionsBefore);

    const pair = await verifyMfa(identity, (answer as MfaChallenge).mfa_token, { code: generateTotp({ secret, now }) }, context, new Date(now));
    expect(pair).toMatchObject<Partial<TokenPair>>({ token_type: 'Bearer' });
    expect(await fresh.handle.db.selectFrom('sessions').select('id').execute()).toHaveLength(sessionsBefore.length + 1);
  });

  it('refuses an expired mfa_token', async () => {
    const { identity, secret, now } = await withMfa();
    const token = await challenge(identity);
    const later = now + MFA_TOKEN_TTL_S * 1000 + 1000;
    await invalidToken(verifyMfa(identity, token, { code: generateTotp({ secret, now: later }) }, context, new Date(later)));
  });

  it('accepts each TOTP code once, even from two challenges racing', async () => {
    const { identity, secret, now } = await withMfa();
    const [a, b] = [await challenge(identity), await challenge(identity)];
    const code = generateTotp({ secret, now });
    const results = await Promise.allSettled([verifyMfa(identity, a, { code }, context, new Date(now)), verifyMfa(identity, b, { code }, context, new Date(now))]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
  });

  it('burns the challenge after the allowed number of wrong codes', async () => {
    const { identity, secret, now } = await withMfa();
    const token = await challenge(identity);
    for (let i = 0; i < MFA_MAX_FAILED_ATTEMPTS; i++) await invalidCode(verifyMfa(identity, token, { code: '000000' }, context, new Date(now)));
    await invalidToken(verifyMfa(identity, token, { code: generateTotp({ secret, now }) }, context, new Date(now)));
  });

  it('audits success and failure of the second step', async () => {
    const { identity, backupCodes, now } = await withMfa();
    await invalidCode(verifyMfa(identity, await challenge(identity), { backupCode: 'not-a-code' }, context, new Date(now)));
    await verifyMfa(identity, await challenge(identity), { backupCode: backupCodes[0]! }, context, new Date(now));

    const events = await fresh.handle.db.selectFrom('audit_events').select(['action', 'details', 'correlation_id']).where('action', 'like', 'auth.mfa.%').orderBy('id').execute();
    expect(events.map((e) => e.action)).toEqual(['auth.mfa.enrolled', 'auth.mfa.activated', 'auth.mfa.verify_failed', 'auth.mfa.verified']);
    expect(events[3]).toMatchObject({ details: { method: 'backup_code' }, correlation_id: 'corr-mfa-verify' });
  });
});
