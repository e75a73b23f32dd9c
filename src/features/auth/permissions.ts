import type { Role } from '../../platform/db/tables.js';

/**
 * A permission is `resource:action` (`documents:read`), the same words API key scopes use.
 * A feature declares what a route needs with `requirePermission(identity, 'contact:write')`
 * and adds its permissions to the roles below; `resource:*` grants every action on a
 * resource and `*` grants everything.
 */
export type Permission = string;

export const ROLES: readonly Role[] = ['admin', 'member', 'viewer'];

// Members act on their tenant's data; viewers read what members read; admins do
// everything, custom permissions included. Own-account routes (me, sessions, MFA) need
// no permission: every signed-in user manages their own.
export const BASE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  admin: ['*'],
  member: ['api-keys:read', 'api-keys:write', 'contact:write', 'documents:read', 'documents:write'],
  viewer: ['api-keys:read', 'documents:read'],
};

const PERMISSION = /^[a-z][a-z0-9_-]{0,63}:([a-z][a-z0-9_-]{0,63}|\*)$/;

/**
 * The scopes an API key may hold, with what each lets a key do (the README lists the same).
 * Only permissions of routes that accept `X-API-Key`: user administration and key management
 * take a user's token, so `users:*` or `api-keys:write` on a key would grant nothing.
 */
export const API_KEY_SCOPES: Readonly<Record<Permission, string>> = {
  'api-keys:read': 'list the tenant\'s API keys (`GET /v1/api-keys`), never the keys themselves',
  'contact:read': 'read the tenant\'s contact messages (`GET /v1/contact`)',
  'contact:write': 'send contact messages (`POST /v1/contact`)',
  'documents:read': 'list, search, read the metadata of and download the tenant\'s documents',
  'documents:write': 'upload and delete the tenant\'s documents',
};

/** Whether `granted` (a role's permission or a key's scope) covers `needed`. */
export function covers(granted: Permission, needed: Permission): boolean {
  if (granted === '*' || granted === needed) return true;
  if (!granted.endsWith(':*')) return false;
  return needed.startsWith(granted.slice(0, -1));
}

export interface PermissionTable {
  allows(role: Role, permission: Permission): boolean;
  /** What each role holds: the base table plus RBAC_EXTRA_PERMISSIONS. */
  grants(role: Role): readonly Permission[];
  /**
   * Every scope an API key may be given, sorted: API_KEY_SCOPES, the custom permissions of
   * RBAC_EXTRA_PERMISSIONS (plugin routes), and `resource:*` for each of their resources.
   */
  apiKeyScopes(): readonly Permission[];
}

export function createPermissionTable(extra: Partial<Record<Role, readonly Permission[]>> = {}): PermissionTable {
  const table = Object.fromEntries(ROLES.map((role) => [role, [...new Set([...BASE_PERMISSIONS[role], ...(extra[role] ?? [])])]])) as Record<Role, Permission[]>;
  const named = new Set([...Object.keys(API_KEY_SCOPES), ...Object.values(extra).flat()]);
  const wildcards = [...named].map((permission) => `${permission.slice(0, permission.indexOf(':'))}:*`);
  const scopes = [...new Set([...named, ...wildcards])].sort();
  return {
    allows: (role, permission) => (table[role] ?? []).some((granted) => covers(granted, permission)),
    grants: (role) => table[role],
    apiKeyScopes: () => scopes,
  };
}

export class PermissionConfigError extends Error {}

/**
 * Parses RBAC_EXTRA_PERMISSIONS, `member=reports:read,reports:write;viewer=reports:read`.
 * Throws with every problem listed, so a typo stops the start instead of silently granting nothing.
 */
export function parseExtraPermissions(raw: string | undefined): Partial<Record<Role, Permission[]>> {
  const extra: Partial<Record<Role, Permission[]>> = {};
  if (raw === undefined || raw.trim() === '') return extra;
  const problems: string[] = [];
  for (const entry of raw.split(';').map((part) => part.trim()).filter(Boolean)) {
    const [role, list, more] = entry.split('=').map((part) => part.trim());
    if (more !== undefined || !role || list === undefined) {
      problems.push(`"${entry}" is not role=permission,permission`);
      continue;
    }
    if (!ROLES.includes(role as Role)) {
      problems.push(`"${role}" is not a role (${ROLES.join(', ')})`);
      continue;
    }
    const permissions = list.split(',').map((part) => part.trim()).filter(Boolean);
    if (permissions.length === 0) problems.push(`${role}: no permissions listed`);
    for (const permission of permissions) {
      if (!PERMISSION.test(permission)) problems.push(`"${permission}" is not a permission (resource:action, lower case)`);
    }
    extra[role as Role] = [...(extra[role as Role] ?? []), ...permissions];
  }
  if (problems.length > 0) throw new PermissionConfigError(`RBAC_EXTRA_PERMISSIONS: ${problems.join('; ')}`);
  return extra;
}
