import Type from 'typebox';
import { HttpProblem } from '../../platform/http/problem.js';
import type { TenantUser } from './admin-users-store.js';

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
