import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { Role } from '../../platform/db/tables.js';
import { HttpProblem } from '../../platform/http/problem.js';
import type { Principal } from './access-tokens.js';
import { AdminUserSchema, adminUserView, RoleSchema } from './admin-users-schemas.js';
import { insertTenantUser } from './admin-users-store.js';
import { principalOf } from './authenticate.js';
import { contextOf, type Identity } from './identity.js';
import { requireLocalAccount, requirePermission } from './require-permission.js';
import { newPassword, reportWithPasswordPolicy, weakPassword } from './new-password.js';
import { checkPassword } from './password-policy.js';
import { bearerAuth, Email, Password } from './schemas.js';
import { writeAuditEvent, type RequestContext } from './store.js';

const UNIQUE_VIOLATION = '23505';

/** Adds a user to the caller's tenant (sign-up always starts a new tenant). The route checks `users:write`. */
export async function createUser(identity: Identity, principal: Principal, input: { email: string; password: string; role: Role }, context: RequestContext) {
  const verdict = checkPassword(input.password);
  if (!verdict.ok) throw weakPassword(verdict);
  const passwordHash = await identity.hasher.hash(verdict.normalised);
  const user = await insertTenantUser(identity.db, identity.emails, { tenantId: principal.tenantId, email: input.email, passwordHash, role: input.role }).catch((error: unknown) => {
    if ((error as { code?: string }).code === UNIQUE_VIOLATION) throw new HttpProblem(409, 'email-taken', 'An account with this email address already exists.');
    throw error;
  });
  await writeAuditEvent(identity.db, context, { action: 'auth.admin.user_created', tenantId: principal.tenantId, actorId: principal.userId, details: { user_id: user.id, role: user.role } });
  return adminUserView(user);
}

/** Registered inside the authenticated scope. */
export async function adminUsersCreateRoute(app: FastifyInstance, identity: Identity): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().post('/v1/admin/users', {
    // The audit trail names a local actor; provider identities manage users at the provider.
    preHandler: [requireLocalAccount, requirePermission(identity, 'users:write')],
    ...reportWithPasswordPolicy,
    schema: {
      summary: 'Add a user to your tenant with a role (admin only); the password follows the sign-up policy.',
      tags: ['admin'],
      security: bearerAuth,
      body: Type.Object({ email: Email, password: Password, role: RoleSchema }, { additionalProperties: false }),
      response: { 201: AdminUserSchema },
    },
  }, async (request, reply) => {
    newPassword(request, request.body?.password);
    const user = await createUser(identity, principalOf(request), request.body, contextOf(request));
    return reply.code(201).send(user);
  });
}
