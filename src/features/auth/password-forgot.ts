import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { contextOf, type Identity } from './identity.js';
import { insertPasswordReset } from './password-reset-store.js';
import { Email } from './schemas.js';
import { findUserByEmail, writeAuditEvent, type RequestContext } from './store.js';
import { authTier } from './rate-limit-tier.js';

export const PASSWORD_RESET_TTL_S = 30 * 60;

/** Opaque and random (256 bits), so SHA-256 at rest is enough: there is nothing to guess. */
export const newPasswordResetToken = () => randomBytes(32).toString('base64url');
export const hashPasswordResetToken = (token: string) => createHash('sha256').update(token).digest('hex');

export const FORGOT_ANSWER = { status: 'accepted', detail: 'If an account exists for this address, a link to reset its password is on its way.' } as const;

/**
 * Stores a reset for the account (when there is one and it is enabled) and mails its link.
 * The route does not await this: every answer leaves at once, whatever the account, so
 * neither the body nor the timing says whether the address is registered.
 */
export async function requestPasswordReset(identity: Identity, email: string, context: RequestContext, now = new Date()): Promise<void> {
  const { db } = identity;
  const user = await findUserByEmail(db, identity.emails, email);
  if (!user || user.disabled) {
    await writeAuditEvent(db, context, { action: 'auth.password_reset.requested', tenantId: user?.tenant_id, actorId: user?.id, details: { sent: false, reason: user ? 'disabled' : 'unknown-account' } });
    return;
  }
  const token = newPasswordResetToken();
  await insertPasswordReset(db, { tokenHash: hashPasswordResetToken(token), userId: user.id, expiresAt: new Date(now.getTime() + PASSWORD_RESET_TTL_S * 1000) });
  await writeAuditEvent(db, context, { action: 'auth.password_reset.requested', tenantId: user.tenant_id, actorId: user.id, details: { sent: true } });
  // The token rides in the fragment: browsers never send it to a server, so it stays out of access logs.
  const link = `${identity.mail.publicBaseUrl.replace(/\/+$/, '')}/reset-password#token=${token}`;
  await identity.mail.mailer.send({
    to: user.email,
    subject: 'Reset your Rampart password',
    text: [
      'Someone (hopefully you) asked to reset the password of your Rampart account.',
      '',
      `Open this link within ${PASSWORD_RESET_TTL_S / 60} minutes to choose a new password; it works once:`,
      link,
      '',
      `Or send this token to POST /v1/auth/password/reset: ${token}`,
      '',
      'If you did not ask for this, ignore this message: your password stays as it is.',
    ].join('\n'),
  });
}

export async function passwordForgotRoute(app: FastifyInstance, identity: Identity): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().post('/v1/auth/password/forgot', {
    config: authTier,
    schema: {
      summary: 'Ask for a password-reset mail. The answer is the same whether or not the account exists.',
      tags: ['auth'],
      body: Type.Object({ email: Email }, { additionalProperties: false }),
      response: { 202: Type.Object({ status: Type.Literal('accepted'), detail: Type.String() }) },
    },
  }, async (request, reply) => {
    const context = contextOf(request);
    requestPasswordReset(identity, request.body.email, context).catch((error: unknown) => {
      // Only the reason: the message held a reset token.
      identity.logger.error({ correlation_id: context.correlationId, reason: error instanceof Error ? error.message : String(error) }, 'password reset mail was not sent');
    });
    reply.header('cache-control', 'no-store');
    return reply.code(202).send(FORGOT_ANSWER);
  });
}
