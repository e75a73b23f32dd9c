import Type from 'typebox';
import { HttpProblem } from '../../platform/http/problem.js';
import type { Principal } from './access-tokens.js';
import type { Identity } from './identity.js';
import type { TenantUser } from './admin-users-store.js';
import { findUser } from './store.js';

export const RoleSchema = Type.Union([Type.Literal('admin'), Type.Literal('member'), Type.Literal('viewer')]);

export const AdminUserSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  role: RoleSchema,
  disabled: Type.Boolean(),
  created_at: Type.String({ format: 'date-time' }),
});

export const adminUserView = (user: TenantUser) => ({ id: user.id, email: user.email, role: user.role, disabled: user.disabled, created_at: user.created_at.toISOString() });

export const userNotFound = () => new HttpProblem(404, 'user-not-found', 'Your tenant has no user with this id.');

/**
 * Admin routes need the admin role as the database has it now, not as the token said when it
 * was issued: a demoted admin loses these routes at once, not when the token expires.
 */
export async function assertAdmin(identity: Identity, principal: Principal): Promise<void> {
  const user = principal.role === 'admin' ? await findUser(identity.db, principal.userId) : undefined;
  if (!user || user.role !== 'admin' || user.disabled || user.tenant_id !== principal.tenantId) {
    throw new HttpProblem(403, 'insufficient-role', 'Managing users needs the admin role.');
  }
}
