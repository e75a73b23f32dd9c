import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { Role } from '../../platform/db/tables.js';
import { HttpProblem } from '../../platform/http/problem.js';
import { contextOf, type Identity, type TokenPair } from './identity.js';
import { openSession } from './login.js';
import { CodeOrBackupCode, TotpCode } from './mfa-activate.js';
import { hashMfaToken, MFA_MAX_FAILED_ATTEMPTS } from './mfa-challenge.js';
import { closeMfaChallenge, countFailedMfaAttempt, lockMfaChallenge } from './mfa-store.js';
import { TokenPairSchema } from './schemas.js';
import { checkSecondFactor, invalidMfaCode } from './second-factor.js';
import { writeAuditEvent, type RequestContext } from './store.js';
import { TooManyAttempts, type ThrottleKey } from './brute-force.js';
import { CookieSessionSchema, sendCookieSession, wantsCookieSession } from './cookie-session.js';
import { authTier } from './rate-limit-tier.js';

export const invalidMfaToken = () => new HttpProblem(401, 'invalid-mfa-token', 'The mfa_token is invalid, expired or already used; sign in with your password again.');

export type SecondStep = { code: string; backupCode?: undefined } | { backupCode: string; code?: undefined };

type Outcome =
  | { kind: 'throttled'; retryAfterS: number }
  | { kind: 'invalid-token' }
  | { kind: 'wrong-code'; userId: string; tenantId: string; attempts: number }
  | { kind: 'verified'; user: { id: string; tenant_id: string; role: Role }; method: 'totp' | 'backup_code' };

/**
 * The second step of a sign-in: the challenge from `logIn` plus a TOTP or backup code gives
 * the token pair, and only now is a session created. The challenge works once; each wrong
 * code counts, and the fifth burns it.
 */
export async function verifyMfa(identity: Identity, mfaToken: string, presented: SecondStep, context: RequestContext, now = new Date()): Promise<TokenPair> {
  const { throttle } = identity;
  const ipKey: ThrottleKey = { scope: 'mfa-ip', subject: context.ip };
  let keys: ThrottleKey[] = [ipKey];
  let counted: ThrottleKey[] = [];
  const outcome = await identity.db.transaction().execute(async (trx): Promise<Outcome> => {
    const challenge = await lockMfaChallenge(trx, hashMfaToken(mfaToken));
    const live = challenge && challenge.used_at === null && !challenge.disabled && challenge.expires_at.getTime() > now.getTime();
    // The account's counter spans challenges: a fresh password login does not buy five more guesses.
    if (live) keys = [{ scope: 'mfa-account', subject: challenge.user_id }, ipKey];
    const verdict = await throttle.verdict(trx, keys, now);
    if (verdict.retryAfterS > 0) return { kind: 'throttled', retryAfterS: verdict.retryAfterS };
    counted = verdict.counted;
    if (!challenge || !live) return { kind: 'invalid-token' };
    const check = await checkSecondFactor(trx, identity.totpKey, challenge.user_id, presented, now.getTime());
    if (!check.ok && check.reason === 'mfa-not-active') {
      // MFA was turned off after the password step; the challenge has nothing left to guard.
      await closeMfaChallenge(trx, challenge.id, now);
      return { kind: 'invalid-token' };
    }
    if (!check.ok) {
      const attempts = await countFailedMfaAttempt(trx, challenge.id);
      if (attempts >= MFA_MAX_FAILED_ATTEMPTS) await closeMfaChallenge(trx, challenge.id, now);
      return { kind: 'wrong-code', userId: challenge.user_id, tenantId: challenge.tenant_id, attempts };
    }
    await closeMfaChallenge(trx, challenge.id, now);
    return { kind: 'verified', user: { id: challenge.user_id, tenant_id: challenge.tenant_id, role: challenge.role }, method: check.method };
  });

  if (outcome.kind === 'throttled') {
    identity.counters.failure('locked');
    throw new TooManyAttempts(outcome.retryAfterS);
  }
  if (outcome.kind === 'invalid-token') {
    identity.counters.failure('mfa_token_invalid');
    await throttle.recordFailure(identity.db, [ipKey], context, undefined, now);
    await writeAuditEvent(identity.db, context, { action: 'auth.mfa.verify_failed', details: { reason: 'invalid-mfa-token' } });
    throw invalidMfaToken();
  }
  if (outcome.kind === 'wrong-code') {
    identity.counters.failure('mfa_invalid');
    identity.counters.mfaFailure();
    await throttle.recordFailure(identity.db, keys, context, { tenantId: outcome.tenantId, actorId: outcome.userId }, now);
    await writeAuditEvent(identity.db, context, {
      action: 'auth.mfa.verify_failed',
      tenantId: outcome.tenantId,
      actorId: outcome.userId,
      details: { reason: 'wrong-code', failed_attempts: outcome.attempts },
    });
    throw invalidMfaCode();
  }
  await throttle.reset(identity.db, counted.filter((key) => key.scope === 'mfa-account'));
  await writeAuditEvent(identity.db, context, { action: 'auth.mfa.verified', tenantId: outcome.user.tenant_id, actorId: outcome.user.id, details: { method: outcome.method } });
  return openSession(identity, outcome.user, context, { mfa: outcome.method });
}

export async function mfaVerifyRoute(app: FastifyInstance, identity: Identity): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().post('/v1/auth/mfa/verify', {
    config: authTier,
    schema: {
      summary: 'Finish a sign-in that answered `mfa_required`: the mfa_token plus a TOTP `code` or a `backup_code` returns the token pair.',
      tags: ['auth'],
      body: Type.Object({
        mfa_token: Type.String({ minLength: 1, maxLength: 512 }),
        code: Type.Optional(TotpCode),
        backup_code: Type.Optional(CodeOrBackupCode),
      }, { additionalProperties: false }),
      response: { 200: Type.Union([TokenPairSchema, CookieSessionSchema]) },
    },
  }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const { mfa_token, code, backup_code } = request.body;
    if ((code === undefined) === (backup_code === undefined)) {
      throw new HttpProblem(422, 'validation-failed', 'Send exactly one of code and backup_code.', [{ field: 'body/code', message: 'send either code or backup_code, not both or neither' }]);
    }
    const presented: SecondStep = code !== undefined ? { code } : { backupCode: backup_code! };
    const pair = await verifyMfa(identity, mfa_token, presented, contextOf(request));
    return wantsCookieSession(request) ? sendCookieSession(reply, identity.browser, pair, identity.tokens.refreshTtlS) : pair;
  });
}
