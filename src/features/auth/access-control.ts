import type { Config } from '../../config/schema.js';
import { createPermissionTable, parseExtraPermissions } from './permissions.js';
import type { AccessControl } from './require-permission.js';
import type { Db } from './store.js';

/** Roles and permissions for features that guard their routes (RBAC_EXTRA_PERMISSIONS included); the role is read per request. */
export function accessControl(config: Partial<Pick<Config, 'rbacExtraPermissions'>>, db: Db): AccessControl {
  return { db, permissions: createPermissionTable(parseExtraPermissions(config.rbacExtraPermissions)) };
}
