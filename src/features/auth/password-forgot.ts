import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { decryptField, encryptField, type FieldLocation } from '../../platform/crypto/field-encryption.js';
import type { JobContext } from '../../platform/queue/job-types.js';
import { contextOf, type Identity } from './identity.js';
import type { AuthMail } from './auth-mail.js';
import type { EmailProtection } from './email-protection.js';
import { insertPasswordReset } from './password-reset-store.js';
import { Email } from './schemas.js';
import { findUserByEmail, writeAuditEvent, type RequestContext } from './store.js';
import { authTier } from './rate-limit-tier.js';

export const PASSWORD_RESET_TTL_S = 30 * 60;
export const PASSWORD_RESET_MAIL = 'auth.password-reset-mail';

/** Opaque and random (256 bits), so SHA-256 at rest is enough: there is nothing to guess. */
export const newPasswordResetToken = () => randomBytes(32).toString('base64url');
export const hashPasswordResetToken = (token: string) => createHash('sha256').update(token).digest('hex');

export const FORGOT_ANSWER = { status: 'accepted', detail: 'If an account exists for this address, a link to reset its password is on its way.' } as const;

/** The job's payload: the address sealed (the jobs table keeps no address in clear), and who asked. */
export interface PasswordResetMailPayload {
  email: string;
  ip: string;
  user_agent: string | null;
}

// The address is bound to this job type: a sealed value copied anywhere else does not open.
const PAYLOAD_EMAIL: FieldLocation = { table: 'jobs', row: PASSWORD_RESET_MAIL, column: 'payload.email' };

/**
 * The whole of a "forgot password" request on the request path: one sealed address in one
 * job, whether or not the account exists. Looking the account up, storing a reset and
 * mailing it happen in the job, so neither the answer nor its timing says which it was.
 */
export async function enqueuePasswordResetMail(identity: Identity, email: string, context: RequestContext): Promise<void> {
  await identity.jobs.enqueue(identity.db, PASSWORD_RESET_MAIL, passwordResetMailPayload(identity.emails, email, context), { correlationId: context.correlationId });
}

export function passwordResetMailPayload(emails: EmailProtection, email: string, context: RequestContext): PasswordResetMailPayload {
  return { email: encryptField(emails.keyring, email, PAYLOAD_EMAIL), ip: context.ip, user_agent: context.userAgent };
}

/** The job: stores a reset for the account (when there is one and it is enabled) and mails it. */
export async function sendPasswordResetMail(mail: AuthMail, payload: unknown, job: Pick<JobContext, 'correlationId'>, now = new Date()): Promise<void> {
  const { email: sealed, ip, user_agent: userAgent } = payload as PasswordResetMailPayload;
  if (typeof sealed !== 'string' || typeof ip !== 'string') throw new TypeError(`${PASSWORD_RESET_MAIL}: payload has no sealed address`);
  const email = decryptField(mail.emails.keyring, sealed, PAYLOAD_EMAIL);
  const context: RequestContext = { ip, userAgent: typeof userAgent === 'string' ? userAgent : null, correlationId: job.correlationId ?? '' };
  const { db } = mail;
  const user = await findUserByEmail(db, mail.emails, email);
  if (!user || user.disabled) {
    await writeAuditEvent(db, context, { action: 'auth.password_reset.requested', tenantId: user?.tenant_id, actorId: user?.id, details: { sent: false, reason: user ? 'disabled' : 'unknown-account' } });
    return;
  }
  const token = newPasswordResetToken();
  await insertPasswordReset(db, { tokenHash: hashPasswordResetToken(token), userId: user.id, expiresAt: new Date(now.getTime() + PASSWORD_RESET_TTL_S * 1000) });
  await writeAuditEvent(db, context, { action: 'auth.password_reset.requested', tenantId: user.tenant_id, actorId: user.id, details: { sent: true } });
  await mail.mail.mailer.send({
    to: user.email,
    subject: 'Reset your Rampart password',
    text: [
      'Someone (hopefully you) asked to reset the password of your Rampart account.',
      '',
      `This token sets a new password once, within ${PASSWORD_RESET_TTL_S / 60} minutes:`,
      '',
      `  ${token}`,
      '',
      'Rampart has no web page for this yet. Send the token with your new password to its API',
      '(the "Password reset" step of the README):',
      '',
      `  curl -X POST ${mail.mail.publicBaseUrl.replace(/\/+$/, '')}/v1/auth/password/reset \\`,
      '    -H \'content-type: application/json\' \\',
      `    -d '{"token":"${token}","password":"YOUR NEW PASSWORD"}'`,
      '',
      'Every session of the account is signed out when the password changes.',
      'If you did not ask for this, ignore this message: your password stays as it is.',
    ].join('\n'),
  });
}

export async function passwordForgotRoute(app: FastifyInstance, identity: Identity): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().post('/v1/auth/password/forgot', {
    config: authTier,
    schema: {
      summary: 'Ask for a password-reset mail. The answer, and the time it takes, are the same whether or not the account exists.',
      tags: ['auth'],
      body: Type.Object({ email: Email }, { additionalProperties: false }),
      response: { 202: Type.Object({ status: Type.Literal('accepted'), detail: Type.String() }) },
    },
  }, async (request, reply) => {
    await enqueuePasswordResetMail(identity, request.body.email, contextOf(request));
    reply.header('cache-control', 'no-store');
    return reply.code(202).send(FORGOT_ANSWER);
  });
}
