import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { decryptField, encryptField, type FieldLocation } from '../../platform/crypto/field-encryption.js';
import { HttpProblem } from '../../platform/http/problem.js';
import type { JobContext } from '../../platform/queue/job-types.js';
import type { AuthMail } from './auth-mail.js';
import { contextOf, type Identity } from './identity.js';
import { weakPassword } from './new-password.js';
import { checkPassword } from './password-policy.js';
import { authTier } from './rate-limit-tier.js';
import { claimPendingSignup, deletePendingSignup, dropPendingSignupsFor, findPendingSignup, insertPendingSignup, setVerificationToken } from './signup-verification-store.js';
import { createTenantWithAdmin, EmailTaken, findUserByEmail, writeAuditEvent, type RequestContext, type UserRow } from './store.js';

export const SIGNUP_MAIL = 'auth.signup-mail';
export const SIGNUP_VERIFICATION_TTL_S = 24 * 3600;

/** The one answer to a sign-up with SIGNUP_EMAIL_VERIFICATION=required, new address or not. */
export const SIGNUP_ANSWER = {
  status: 'accepted',
  detail: 'Check this address\'s inbox: the message there confirms the sign-up with POST /v1/auth/signup/verify, or says what to do if the address already has an account.',
} as const;

export interface SignupMailPayload {
  signupId: string;
  ip: string;
  user_agent: string | null;
}

const emailLocation = (signupId: string): FieldLocation => ({ table: 'signup_verifications', row: signupId, column: 'email_encrypted' });
const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * A sign-up that waits for its address to be confirmed. The request path does the same work
 * for every address (policy, hash, one row, one job); the job then finds out whether the
 * address has an account and mails its owner either a token or a note. No tenant or user
 * exists until the token comes back, so nobody signs in with an unconfirmed address.
 */
export async function requestSignup(identity: Identity, email: string, password: string, context: RequestContext, now = new Date()): Promise<void> {
  const verdict = checkPassword(password);
  if (!verdict.ok) throw weakPassword(verdict);
  const passwordHash = await identity.hasher.hash(verdict.normalised);
  const id = randomUUID();
  const payload: SignupMailPayload = { signupId: id, ip: context.ip, user_agent: context.userAgent };
  await identity.db.transaction().execute(async (trx) => {
    await insertPendingSignup(trx, {
      id,
      emailHash: identity.emails.lookupHash(email),
      emailEncrypted: encryptField(identity.emails.keyring, email, emailLocation(id)),
      passwordHash,
      expiresAt: new Date(now.getTime() + SIGNUP_VERIFICATION_TTL_S * 1000),
    });
    await identity.jobs.enqueue(trx, SIGNUP_MAIL, payload, { correlationId: context.correlationId });
  });
}

/** The job: a token for a new address, a note for one that has an account. */
export async function sendSignupMail(mail: AuthMail, payload: unknown, job: Pick<JobContext, 'correlationId' | 'logger'>): Promise<void> {
  const { signupId, ip, user_agent: userAgent } = payload as SignupMailPayload;
  if (typeof signupId !== 'string' || typeof ip !== 'string') throw new TypeError(`${SIGNUP_MAIL}: payload has no signupId`);
  const { db } = mail;
  const pending = await findPendingSignup(db, signupId);
  if (!pending || pending.used_at !== null) {
    job.logger.info({ signup_id: signupId }, 'sign-up no longer pending: nothing to mail');
    return;
  }
  const context: RequestContext = { ip, userAgent: typeof userAgent === 'string' ? userAgent : null, correlationId: job.correlationId ?? '' };
  const email = decryptField(mail.emails.keyring, pending.email_encrypted, emailLocation(signupId));
  const base = mail.mail.publicBaseUrl.replace(/\/+$/, '');
  const existing = await findUserByEmail(db, mail.emails, email);
  if (existing) {
    // The attempt's password belongs to whoever tried; it is of no use to anyone.
    await deletePendingSignup(db, signupId);
    await writeAuditEvent(db, context, { action: 'auth.signup.address_taken', tenantId: existing.tenant_id, actorId: existing.id, details: {} });
    await mail.mail.mailer.send({ to: existing.email, subject: 'Someone tried to sign up to Rampart with your address', text: addressTakenText(base) });
    return;
  }
  const token = randomBytes(32).toString('base64url');
  await setVerificationToken(db, signupId, hashToken(token));
  await writeAuditEvent(db, context, { action: 'auth.signup.requested', details: { signup_id: signupId } });
  await mail.mail.mailer.send({ to: email, subject: 'Confirm your Rampart sign-up', text: verificationText(base, token) });
}

function verificationText(base: string, token: string): string {
  return [
    'Someone (hopefully you) signed up to Rampart with this address.',
    '',
    `This token confirms the sign-up once, within ${SIGNUP_VERIFICATION_TTL_S / 3600} hours; until then the account cannot sign in:`,
    '',
    `  ${token}`,
    '',
    'Rampart has no web page for this yet. Send the token to its API (the "Sign-up" step of the README):',
    '',
    `  curl -X POST ${base}/v1/auth/signup/verify \\`,
    '    -H \'content-type: application/json\' \\',
    `    -d '{"token":"${token}"}'`,
    '',
    'If you did not sign up, ignore this message: no account is created.',
  ].join('\n');
}

function addressTakenText(base: string): string {
  return [
    'Someone (perhaps you) tried to sign up to Rampart with this address, which already has an account.',
    'Nothing was changed, and no second account was created.',
    '',
    'If it was you: sign in with your password. If you have forgotten it, ask for a reset:',
    '',
    `  curl -X POST ${base}/v1/auth/password/forgot \\`,
    '    -H \'content-type: application/json\' -d \'{"email":"YOUR ADDRESS"}\'',
    '',
    'If it was not you, you need do nothing.',
  ].join('\n');
}

export const invalidVerificationToken = () =>
  new HttpProblem(400, 'invalid-verification-token', 'This sign-up token is unknown, expired or already used; sign up again for a new one.');

/** Creates the tenant and its admin from a confirmed sign-up; the token works once. */
export async function verifySignup(identity: Identity, token: string, context: RequestContext, now = new Date()): Promise<UserRow> {
  const { db } = identity;
  const pending = await claimPendingSignup(db, hashToken(token), now);
  if (!pending) throw invalidVerificationToken();
  const email = decryptField(identity.emails.keyring, pending.email_encrypted, emailLocation(pending.id));
  let user: UserRow;
  try {
    user = await createTenantWithAdmin(db, identity.emails, email, pending.password_hash);
  } catch (error) {
    // Only the address's owner holds the token, so saying so tells nobody else anything.
    if (error instanceof EmailTaken) throw new HttpProblem(409, 'email-taken', 'This address has an account already (another sign-up was confirmed first); sign in instead.');
    throw error;
  }
  await dropPendingSignupsFor(db, pending.email_hash);
  await writeAuditEvent(db, context, { action: 'auth.signup', tenantId: user.tenant_id, actorId: user.id, details: { role: user.role, verified: true } });
  return user;
}

export async function signupVerifyRoute(app: FastifyInstance, identity: Identity): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().post('/v1/auth/signup/verify', {
    config: authTier,
    schema: {
      summary: 'Confirm a sign-up with the token mailed to its address (SIGNUP_EMAIL_VERIFICATION=required): creates the tenant and its admin.',
      tags: ['auth'],
      body: Type.Object({ token: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false }),
      response: { 201: Type.Object({ id: Type.String(), email: Type.String(), tenant_id: Type.String(), role: Type.String() }) },
    },
  }, async (request, reply) => {
    const user = await verifySignup(identity, request.body.token, contextOf(request));
    reply.code(201).header('cache-control', 'no-store');
    return { id: user.id, email: user.email, tenant_id: user.tenant_id, role: user.role };
  });
}
