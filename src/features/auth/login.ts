import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { HttpProblem } from '../../platform/http/problem.js';
import { contextOf, tokenPair, type Identity, type TokenPair } from './identity.js';
import { normalisePassword } from './password-policy.js';
import { hashRefreshToken, newRefreshToken } from './refresh-tokens.js';
import { Credentials, TokenPairSchema } from './schemas.js';
import { createSession, findUserByEmail, insertRefreshToken, replacePasswordHash, writeAuditEvent, type RequestContext, type UserRow } from './store.js';
import { MfaChallengeSchema, startMfaChallenge, type MfaChallenge } from './mfa-challenge.js';
import { isTotpActive } from './mfa-store.js';
import type { ThrottleKey } from './brute-force.js';
import { CookieSessionSchema, sendCookieSession, wantsCookieSession } from './cookie-session.js';
import { authTier } from './rate-limit-tier.js';

/** One answer for unknown account, wrong password and disabled account: no enumeration. */
export const invalidCredentials = () => new HttpProblem(401, 'invalid-credentials', 'The email or password is incorrect.');

/** The token pair, or, when the account has MFA on, a challenge for POST /v1/auth/mfa/verify. */
export async function logIn(identity: Identity, email: string, password: string, context: RequestContext): Promise<TokenPair | MfaChallenge> {
  const { db, hasher, throttle } = identity;
  const keys: ThrottleKey[] = [{ scope: 'login-account', subject: throttle.accountSubject(email) }, { scope: 'login-ip', subject: context.ip }];
  // Before the hash: a locked account costs no argon2 run, and an unknown one is locked alike.
  const { counted } = await throttle.assertAllowed(db, keys);
  const normalised = normalisePassword(password);
  const user = await findUserByEmail(db, identity.emails, email);
  // An unknown account still pays for one hash, so its answer takes as long as a wrong password's.
  const verdict = user ? await hasher.verify(user.password_hash, normalised) : { ok: await hasher.verifyNothing(normalised), rehash: false };
  if (!user || !verdict.ok || user.disabled) {
    const reason = !user ? 'unknown-account' : !verdict.ok ? 'wrong-password' : 'disabled';
    identity.counters.failure(!user ? 'unknown_user' : !verdict.ok ? 'bad_password' : 'disabled');
    await throttle.recordFailure(db, keys, context, user ? { tenantId: user.tenant_id, actorId: user.id } : undefined);
    await writeAuditEvent(db, context, { action: 'auth.login.failed', tenantId: user?.tenant_id, actorId: user?.id, details: { reason } });
    throw invalidCredentials();
  }
  // Imported bcrypt hashes and hashes below today's cost are replaced while we hold the password.
  if (verdict.rehash) await replacePasswordHash(db, user.id, await hasher.hash(normalised));
  await throttle.reset(db, counted.filter((key) => key.scope === 'login-account'));

  if (await isTotpActive(db, user.id)) return startMfaChallenge(identity, user, context);
  return openSession(identity, user, context, { password_rehashed: verdict.rehash });
}

/** A new session (a device) and its first token pair: how every successful sign-in ends. */
export async function openSession(identity: Identity, user: Pick<UserRow, 'id' | 'tenant_id' | 'role'>, context: RequestContext, details: Record<string, unknown>): Promise<TokenPair> {
  const { db } = identity;
  const session = await createSession(db, user, context);
  const refreshToken = newRefreshToken();
  const row = await insertRefreshToken(db, {
    tokenHash: hashRefreshToken(refreshToken),
    sessionId: session.id,
    familyId: session.family_id,
    parentId: null,
    expiresAt: new Date(Date.now() + identity.tokens.refreshTtlS * 1000),
  });
  await writeAuditEvent(db, context, { action: 'auth.login.succeeded', tenantId: user.tenant_id, actorId: user.id, details: { session_id: session.id, ...details } });
  return tokenPair(identity, { userId: user.id, tenantId: user.tenant_id, role: user.role, sessionId: session.id }, refreshToken, { id: row.id, issuedAt: row.created_at });
}

export async function loginRoute(app: FastifyInstance, identity: Identity): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().post('/v1/auth/login', {
    config: authTier,
    schema: {
      summary: 'Sign in with email and password; returns an access token and a refresh token, or `mfa_required` and an `mfa_token` when the account has MFA on. With `X-Rampart-Session: cookie` the tokens are set as `__Host-` cookies and the body carries only a CSRF token. Repeated failures answer 429 with `Retry-After`.',
      tags: ['auth'],
      body: Credentials,
      response: { 200: Type.Union([TokenPairSchema, MfaChallengeSchema, CookieSessionSchema]) },
    },
  }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const outcome = await logIn(identity, request.body.email, request.body.password, contextOf(request));
    if ('mfa_required' in outcome || !wantsCookieSession(request)) return outcome;
    return sendCookieSession(reply, identity.browser, outcome, identity.tokens.refreshTtlS);
  });
}
