import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { HttpProblem } from '../../platform/http/problem.js';
import { contextOf, type Identity } from './identity.js';
import { newPassword, reportWithPasswordPolicy, weakPassword } from './new-password.js';
import { checkPassword } from './password-policy.js';
import { Credentials } from './schemas.js';
import { requestSignup, SIGNUP_ANSWER } from './signup-verification.js';
import { createTenantWithAdmin, EmailTaken, writeAuditEvent, type RequestContext, type UserRow } from './store.js';
import { authTier } from './rate-limit-tier.js';

export { weakPassword } from './new-password.js';

/**
 * Self-service sign-up without address confirmation (SIGNUP_EMAIL_VERIFICATION=off): a new
 * tenant whose first user is its admin, at once. A taken address answers 409, which tells
 * anyone which addresses have accounts.
 */
export async function signUp(identity: Identity, email: string, password: string, context: RequestContext): Promise<UserRow> {
  const verdict = checkPassword(password);
  if (!verdict.ok) throw weakPassword(verdict);
  const passwordHash = await identity.hasher.hash(verdict.normalised);
  let user: UserRow;
  try {
    user = await createTenantWithAdmin(identity.db, identity.emails, email, passwordHash);
  } catch (error) {
    if (error instanceof EmailTaken) throw new HttpProblem(409, 'email-taken', 'An account with this email address already exists; sign in instead.');
    throw error;
  }
  await writeAuditEvent(identity.db, context, { action: 'auth.signup', tenantId: user.tenant_id, actorId: user.id, details: { role: user.role } });
  return user;
}

export async function signupRoute(app: FastifyInstance, identity: Identity): Promise<void> {
  const confirming = identity.signupVerification === 'required';
  app.withTypeProvider<TypeBoxTypeProvider>().post('/v1/auth/signup', {
    config: authTier,
    ...reportWithPasswordPolicy,
    schema: {
      summary: confirming
        ? 'Sign up: answers 202 for every address and mails its owner a token for POST /v1/auth/signup/verify (or a note when the address has an account already).'
        : 'Create an account: a new tenant whose first user is its admin.',
      tags: ['auth'],
      body: Credentials,
      response: confirming
        ? { 202: Type.Object({ status: Type.Literal('accepted'), detail: Type.String() }) }
        : { 201: Type.Object({ id: Type.String(), email: Type.String(), tenant_id: Type.String(), role: Type.String() }) },
    },
  }, async (request, reply) => {
    newPassword(request, request.body?.password);
    const { email, password } = request.body;
    reply.header('cache-control', 'no-store');
    if (confirming) {
      await requestSignup(identity, email, password, contextOf(request));
      return reply.code(202).send(SIGNUP_ANSWER);
    }
    const user = await signUp(identity, email, password, contextOf(request));
    return reply.code(201).send({ id: user.id, email: user.email, tenant_id: user.tenant_id, role: user.role });
  });
}
