import { describe, expect, it } from 'vitest';
import { claimAt, roleFrom } from './oidc-verifier.js';

describe('OIDC claim mapping', () => {
  it('finds a claim by exact name before trying a dotted path', () => {
    const payload = { 'cognito:groups': ['member'], 'https://example.com/roles': ['admin'], realm_access: { roles: ['viewer', 'admin'] } };
    expect(claimAt(payload, 'cognito:groups')).toEqual(['member']);
    expect(claimAt(payload, 'https://example.com/roles')).toEqual(['admin']);
    expect(claimAt(payload, 'realm_access.roles')).toEqual(['viewer', 'admin']);
    expect(claimAt(payload, 'realm_access.missing.deeper')).toBeUndefined();
    expect(claimAt({ a: ['x'] }, 'a.0')).toBeUndefined();
  });

  it('takes the highest of admin, member, viewer from a string or an array, else the default', () => {
    expect(roleFrom(['viewer', 'admin', 'member'], 'viewer')).toBe('admin');
    expect(roleFrom(['offline_access', 'Member'], 'viewer')).toBe('member');
    expect(roleFrom('viewer member', 'viewer')).toBe('member');
    expect(roleFrom('admin', 'viewer')).toBe('admin');
    expect(roleFrom(['uma_authorization', 42, null], 'member')).toBe('member');
    expect(roleFrom(undefined, 'viewer')).toBe('viewer');
    expect(roleFrom({ admin: true }, 'viewer')).toBe('viewer');
  });
});
