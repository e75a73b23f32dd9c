import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { HttpProblem } from '../../platform/http/problem.js';
import { contextOf, type Identity } from './identity.js';
import { checkPassword, type PasswordVerdict } from './password-policy.js';
import { Credentials } from './schemas.js';
import { createTenantWithAdmin, EmailTaken, writeAuditEvent, type RequestContext, type UserRow } from './store.js';
import { authTier } from './rate-limit-tier.js';

/** The policy's refusal as a 422 naming the rule; every route that sets a password answers with it. */
export function weakPassword(verdict: PasswordVerdict): HttpProblem {
  return new HttpProblem(422, 'weak-password', `${verdict.message} (rule: ${verdict.rule})`, [{ field: 'body/password', message: `${verdict.rule}: ${verdict.message}` }]);
}

/** Self-service sign-up: a new tenant whose first user is its admin. */
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
  app.withTypeProvider<TypeBoxTypeProvider>().post('/v1/auth/signup', {
    config: authTier,
    schema: {
      summary: 'Create an account: a new tenant whose first user is its admin.',
      tags: ['auth'],
      body: Credentials,
      response: {
        201: Type.Object({ id: Type.String(), email: Type.String(), tenant_id: Type.String(), role: Type.String() }),
      },
    },
  }, async (request, reply) => {
    const user = await signUp(identity, request.body.email, request.body.password, contextOf(request));
    reply.code(201);
    return { id: user.id, email: user.email, tenant_id: user.tenant_id, role: user.role };
  });
}
