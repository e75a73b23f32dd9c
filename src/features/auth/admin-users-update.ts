import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { Role } from '../../platform/db/tables.js';
import { HttpProblem } from '../../platform/http/problem.js';
import type { Principal } from './access-tokens.js';
import { AdminUserSchema, adminUserView, RoleSchema, userNotFound } from './admin-users-schemas.js';
import { lockActiveAdmins, lockTenantUser, updateTenantUser } from './admin-users-store.js';
import { principalOf } from './authenticate.js';
import { contextOf, type Identity } from './identity.js';
import { requireLocalAccount, requirePermission } from './require-permission.js';
import { bearerAuth } from './schemas.js';
import { revokeSessions, writeAuditEvent, type RequestContext } from './store.js';
import { forgetUser } from './user-cache.js';

export interface UserChange {
  role?: Role | undefined;
  disabled?: boolean | undefined;
}

/**
 * Changes a user's role or disables/enables them, within the caller's tenant (another
 * tenant's user is "not found"). Disabling revokes every session of the user. No change may
 * leave the tenant without an active admin. The route checks `users:write`.
 */
export async function updateUser(identity: Identity, principal: Principal, id: string, change: UserChange, context: RequestContext) {
  const { db } = identity;
  const outcome = await db.transaction().execute(async (trx) => {
    const admins = await lockActiveAdmins(trx, principal.tenantId);
    const before = await lockTenantUser(trx, identity.emails, principal.tenantId, id);
    if (!before) throw userNotFound();
    const staysActiveAdmin = (change.role ?? before.role) === 'admin' && !(change.disabled ?? before.disabled);
    if (admins.includes(id) && !staysActiveAdmin && admins.length <= 1) {
      throw new HttpProblem(409, 'last-admin', 'This is the last active admin of the tenant; make another user admin first.');
    }
    const after = await updateTenantUser(trx, identity.emails, id, change);
    const revoked = after.disabled && !before.disabled ? await revokeSessions(trx, id, {}) : [];
    return { before, after, revoked };
  });
  for (const sessionId of outcome.revoked) identity.revocations.markRevoked(sessionId);
  await forgetUser(identity, id);
  const { before, after } = outcome;
  const audit = (action: string, details: Record<string, unknown>) =>
    writeAuditEvent(db, context, { action, tenantId: principal.tenantId, actorId: principal.userId, details: { user_id: id, ...details } });
  if (before.role !== after.role) await audit('auth.admin.role_changed', { from: before.role, to: after.role });
  if (before.disabled !== after.disabled) await audit(after.disabled ? 'auth.admin.user_disabled' : 'auth.admin.user_enabled', { revoked_sessions: outcome.revoked.length });
  return adminUserView(after);
}

/** Registered inside the authenticated scope. */
export async function adminUsersUpdateRoute(app: FastifyInstance, identity: Identity): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().patch('/v1/admin/users/:id', {
    preHandler: [requireLocalAccount, requirePermission(identity, 'users:write')],
    schema: {
      summary: 'Change the role of a user of your tenant, or disable (signs them out everywhere) or enable them (admin only).',
      tags: ['admin'],
      security: bearerAuth,
      params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
      body: Type.Object({ role: Type.Optional(RoleSchema), disabled: Type.Optional(Type.Boolean()) }, { additionalProperties: false, minProperties: 1 }),
      response: { 200: AdminUserSchema },
    },
  }, async (request) => updateUser(identity, principalOf(request), request.params.id, request.body, contextOf(request)));
}
