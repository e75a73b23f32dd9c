import { describe, expect, it } from 'vitest';
import { API_KEY_SCOPES, BASE_PERMISSIONS, covers, createPermissionTable, parseExtraPermissions, PermissionConfigError } from './permissions.js';

describe('role permissions', () => {
  const table = createPermissionTable();

  it('gives admins everything, custom permissions included', () => {
    for (const permission of ['users:read', 'users:write', 'api-keys:write', 'audit:read', 'contact:read', 'documents:delete', 'reports:read']) {
      expect(table.allows('admin', permission)).toBe(true);
    }
  });

  it('lets members act on their tenant\'s data but not manage users or read the audit trail', () => {
    for (const permission of ['api-keys:read', 'api-keys:write', 'contact:write', 'documents:read', 'documents:write']) expect(table.allows('member', permission)).toBe(true);
    for (const permission of ['users:read', 'users:write', 'audit:read', 'contact:read']) expect(table.allows('member', permission)).toBe(false);
  });

  it('gives viewers only the reads members have', () => {
    const viewer = table.grants('viewer');
    expect(viewer.every((permission) => permission.endsWith(':read'))).toBe(true);
    expect(viewer.every((permission) => table.allows('member', permission))).toBe(true);
    for (const permission of ['api-keys:write', 'documents:write', 'contact:write', 'users:read']) expect(table.allows('viewer', permission)).toBe(false);
  });

  it('reads resource:* as every action on that resource and nothing else', () => {
    expect(covers('documents:*', 'documents:read')).toBe(true);
    expect(covers('documents:*', 'documents:*')).toBe(true);
    expect(covers('documents:*', 'documents-archive:read')).toBe(false);
    expect(covers('documents:read', 'documents:*')).toBe(false);
    expect(covers('*', 'anything:at-all')).toBe(true);
    // A member holds documents:read and :write, not every documents action.
    expect(table.allows('member', 'documents:*')).toBe(false);
  });

  it('adds RBAC_EXTRA_PERMISSIONS to the base table', () => {
    const extended = createPermissionTable(parseExtraPermissions(' member=reports:read, reports:write ; viewer=reports:read'));
    expect(extended.allows('member', 'reports:write')).toBe(true);
    expect(extended.allows('viewer', 'reports:read')).toBe(true);
    expect(extended.allows('viewer', 'reports:write')).toBe(false);
    expect(extended.allows('viewer', 'documents:read')).toBe(true);
    expect(BASE_PERMISSIONS.viewer).not.toContain('reports:read');
  });

  it('treats an empty RBAC_EXTRA_PERMISSIONS as none', () => {
    expect(parseExtraPermissions(undefined)).toEqual({});
    expect(parseExtraPermissions('  ')).toEqual({});
  });

  it.each([
    ['an unknown role', 'owner=reports:read', /"owner" is not a role/],
    ['a permission without an action', 'member=reports', /"reports" is not a permission/],
    ['upper case', 'member=Reports:Read', /is not a permission/],
    ['a missing =', 'member reports:read', /not role=permission/],
    ['no permissions', 'viewer=', /viewer: no permissions listed/],
    ['injection attempts', 'member=reports:read\';drop', /is not a permission/],
  ])('refuses %s at start with a message naming it', (_label, raw, message) => {
    expect(() => parseExtraPermissions(raw)).toThrow(PermissionConfigError);
    expect(() => parseExtraPermissions(raw)).toThrow(message);
  });

  it('offers API keys the scopes of key-accepting routes, the custom permissions and their resource wildcards', () => {
    expect(createPermissionTable().apiKeyScopes()).toEqual(['api-keys:*', 'api-keys:read', 'contact:*', 'contact:read', 'contact:write', 'documents:*', 'documents:read', 'documents:write']);
    const scopes = createPermissionTable(parseExtraPermissions('member=reports:read;viewer=reports:read,audit:read')).apiKeyScopes();
    expect(scopes).toEqual(expect.arrayContaining(['reports:read', 'reports:*', 'audit:read', 'audit:*', ...Object.keys(API_KEY_SCOPES)]));
    expect(scopes).not.toContain('users:read');
  });
});
