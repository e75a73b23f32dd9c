import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { HttpProblem } from '../../platform/http/problem.js';
import { contextOf, type Identity } from './identity.js';
import { hashPasswordResetToken } from './password-forgot.js';
import { checkPassword } from './password-policy.js';
import { burnPasswordResets, lockPasswordReset } from './password-reset-store.js';
import { Password } from './schemas.js';
import { newPassword, reportWithPasswordPolicy, weakPassword } from './new-password.js';
import { replacePasswordHash, revokeSessions, writeAuditEvent, type RequestContext } from './store.js';
import type { ThrottleKey } from './brute-force.js';
import { authTier } from './rate-limit-tier.js';

export const invalidResetToken = () => new HttpProblem(400, 'invalid-reset-token', 'This password-reset token is unknown, expired or already used; ask for a new one at POST /v1/auth/password/forgot.');

/**
 * Sets a new password with a token from the reset mail. The token is burnt (with every other
 * pending reset of the user) and every session of the user is revoked, so whoever knew the
 * old password is signed out everywhere.
 */
export async function resetPassword(identity: Identity, token: string, password: string, context: RequestContext, now = new Date()): Promise<void> {
  const { db, throttle } = identity;
  const tokenHash = hashPasswordResetToken(token);
  const keys: ThrottleKey[] = [{ scope: 'reset-token', subject: tokenHash }, { scope: 'reset-ip', subject: context.ip }];
  // Before the hash below: a client guessing tokens gets a cheap 429, not an argon2 run per guess.
  await throttle.assertAllowed(db, keys, now);
  // The policy first: a weak password must not burn the token.
  const verdict = checkPassword(password);
  if (!verdict.ok) throw weakPassword(verdict);
  // Hashed before the transaction: argon2 takes tens of milliseconds, too long to hold a row lock.
  const passwordHash = await identity.hasher.hash(verdict.normalised);
  const outcome = await db.transaction().execute(async (trx) => {
    const reset = await lockPasswordReset(trx, tokenHash);
    if (!reset) return { ok: false as const, reason: 'unknown-token' };
    const refusal = reset.used_at !== null ? 'used' : reset.expires_at <= now ? 'expired' : reset.disabled ? 'disabled' : null;
    if (refusal) return { ok: false as const, reason: refusal, userId: reset.user_id, tenantId: reset.tenant_id };
    await burnPasswordResets(trx, reset.user_id, now);
    await replacePasswordHash(trx, reset.user_id, passwordHash);
    const revoked = await revokeSessions(trx, reset.user_id, {});
    return { ok: true as const, userId: reset.user_id, tenantId: reset.tenant_id, revoked };
  });
  if (!outcome.ok) {
    identity.counters.failure('reset_token_invalid');
    await throttle.recordFailure(db, keys, context, outcome.userId && outcome.tenantId ? { tenantId: outcome.tenantId, actorId: outcome.userId } : undefined, now);
    await writeAuditEvent(db, context, { action: 'auth.password_reset.failed', tenantId: outcome.tenantId, actorId: outcome.userId, details: { reason: outcome.reason } });
    throw invalidResetToken();
  }
  for (const id of outcome.revoked) identity.revocations.markRevoked(id);
  await writeAuditEvent(db, context, { action: 'auth.password_reset.completed', tenantId: outcome.tenantId, actorId: outcome.userId, details: { revoked_sessions: outcome.revoked.length } });
}

export async function passwordResetRoute(app: FastifyInstance, identity: Identity): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().post('/v1/auth/password/reset', {
    config: authTier,
    ...reportWithPasswordPolicy,
    schema: {
      summary: 'Choose a new password with the token from the reset mail; signs the account out everywhere.',
      tags: ['auth'],
      body: Type.Object({ token: Type.String({ minLength: 1, maxLength: 256 }), password: Password }, { additionalProperties: false }),
      response: { 204: Type.Null({ description: 'Password changed; every session of the account is revoked.' }) },
    },
  }, async (request, reply) => {
    newPassword(request, request.body?.password);
    await resetPassword(identity, request.body.token, request.body.password, contextOf(request));
    return reply.code(204).send(null);
  });
}
