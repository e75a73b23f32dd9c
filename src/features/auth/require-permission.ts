import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { Role } from '../../platform/db/tables.js';
import { HttpProblem } from '../../platform/http/problem.js';
import type { Principal } from './access-tokens.js';
import { insufficientScope } from './api-key-auth.js';
import { principalOf } from './authenticate.js';
import { covers, type Permission, type PermissionTable } from './permissions.js';
import { findUserAccess, type Db } from './store.js';

export interface AccessControl {
  db: Db;
  permissions: PermissionTable;
}

export function insufficientPermission(permission: Permission, role?: Role): HttpProblem {
  return new HttpProblem(403, 'insufficient-permission', role ? `This needs the ${permission} permission, which the ${role} role does not have.` : `This needs the ${permission} permission.`);
}

export function externalIdentity(): HttpProblem {
  return new HttpProblem(403, 'external-identity', 'This route needs a Rampart account; a token from the external identity provider has none (manage this at your provider).');
}

/**
 * The role that decides now. A local user's role is read from the database, not taken from
 * the token: a demoted admin loses admin permissions at once, not when the token expires.
 * An external principal's role is what its provider's token says.
 */
export async function currentRole(access: AccessControl, principal: Principal): Promise<Role | undefined> {
  if (principal.external) return principal.role;
  const user = await findUserAccess(access.db, principal.userId);
  if (!user || user.disabled || user.tenant_id !== principal.tenantId) return undefined;
  return user.role;
}

/** Throws 403 `insufficient-permission` unless the principal's current role holds every one of `needed`. */
export async function assertGranted(access: AccessControl, principal: Principal, needed: readonly Permission[]): Promise<void> {
  const role = await currentRole(access, principal);
  const missing = needed.find((permission) => !role || !access.permissions.allows(role, permission));
  if (missing !== undefined) throw insufficientPermission(missing, role);
}

export interface PermissionOptions {
  /** `false`: an API key is refused whatever its scopes (key management: a leaked key must not mint keys). */
  apiKeys?: boolean;
}

/**
 * A route's declaration of what it needs: `{ preHandler: requirePermission(identity, 'documents:read') }`.
 * Users are judged by their current role, external principals by their mapped role, API keys
 * by their scopes (403 `insufficient-scope` when a key lacks it).
 */
export function requirePermission(access: AccessControl, permission: Permission, options: PermissionOptions = {}): preHandlerAsyncHookHandler {
  return async function requirePermissionHook(request: FastifyRequest, _reply: FastifyReply) {
    if (request.apiKey) {
      if (options.apiKeys === false) throw new HttpProblem(403, 'insufficient-permission', `API keys cannot do this (${permission}); use a user's access token.`);
      if (!request.apiKey.scopes.some((scope) => covers(scope, permission))) throw insufficientScope(permission);
      return;
    }
    await assertGranted(access, principalOf(request), [permission]);
  };
}

/** For own-account routes (sessions, logout, MFA) and writes that record a local actor: 403 `external-identity` for provider tokens. */
export async function requireLocalAccount(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  if (request.principal?.external) throw externalIdentity();
}
