import { describe, expect, it } from 'vitest';
import { authEnv, bearer, logIn, PASSWORD, postJson, rampartOnFreshDatabase, signUp, uniqueEmail } from '../support/auth-client.js';
import { databaseTargets } from '../support/databases.js';
import { startRampart, type HttpResponse } from '../support/rampart-process.js';

describe.each(databaseTargets())('role permissions on $name', (factory) => {
  describe.skipIf(!factory.available)('admin, member, viewer and API key scopes', () => {
    const suite = rampartOnFreshDatabase(factory, { RBAC_EXTRA_PERMISSIONS: 'member=reports:read;viewer=reports:read' });

    const expectProblem = (res: HttpResponse, status: number, slug: string) => {
      expect(res.status, res.body).toBe(status);
      expect(res.json()).toMatchObject({ type: `/problems/${slug}` });
    };
    /** A tenant with its admin and one signed-in user per role. */
    async function tenant(label: string) {
      const adminEmail = uniqueEmail(`${label}-admin`);
      await signUp(suite.rampart, adminEmail);
      const admin = (await logIn(suite.rampart, adminEmail)).access_token;
      const tokens: Record<'member' | 'viewer', string> = { member: '', viewer: '' };
      for (const role of ['member', 'viewer'] as const) {
        const email = uniqueEmail(`${label}-${role}`);
        const res = await postJson(suite.rampart, '/v1/admin/users', { email, password: PASSWORD, role }, bearer(admin));
        expect(res.status, res.body).toBe(201);
        tokens[role] = (await logIn(suite.rampart, email)).access_token;
      }
      return { admin, ...tokens };
    }
    const mint = (token: string, scopes: string[]) => postJson(suite.rampart, '/v1/api-keys', { name: 'ci', scopes }, bearer(token));
    const listKeys = (headers: Record<string, string>) => suite.rampart.request('/v1/api-keys', { headers });

    it('lets a viewer read API keys but not create them', async () => {
      const { viewer } = await tenant('viewer');
      expect((await listKeys(bearer(viewer))).status).toBe(200);
      expectProblem(await mint(viewer, ['documents:read']), 403, 'insufficient-permission');
    });

    it('keeps the user list for admins: a member gets 403', async () => {
      const { admin, member } = await tenant('member');
      expectProblem(await suite.rampart.request('/v1/admin/users', { headers: bearer(member) }), 403, 'insufficient-permission');
      expect((await suite.rampart.request('/v1/admin/users', { headers: bearer(admin) })).status).toBe(200);
    });

    it('never lets a key exceed its creator\'s role; RBAC_EXTRA_PERMISSIONS extends roles', async () => {
      const { member } = await tenant('scopes');
      const refused = await mint(member, ['contact:write', 'contact:read']);
      expectProblem(refused, 403, 'insufficient-permission');
      expect(refused.json<{ detail: string }>().detail).toContain('contact:read');
      expectProblem(await mint(member, ['documents:*']), 403, 'insufficient-permission');
      expect((await mint(member, ['contact:write', 'documents:read', 'reports:read'])).status).toBe(201);
    });

    it('lets a key with api-keys:read list keys but not write them', async () => {
      const { admin } = await tenant('key-read');
      const key = (await mint(admin, ['api-keys:read'])).json<{ id: string; key: string }>();
      const asKey = { 'x-api-key': key.key };
      const listed = await listKeys(asKey);
      expect(listed.status, listed.body).toBe(200);
      expect(listed.json<{ api_keys: Array<{ id: string }> }>().api_keys.map((k) => k.id)).toEqual([key.id]);
      expectProblem(await postJson(suite.rampart, '/v1/api-keys', { name: 'child', scopes: ['api-keys:read'] }, asKey), 403, 'insufficient-permission');
      expectProblem(await suite.rampart.request(`/v1/api-keys/${key.id}/rotate`, { method: 'POST', headers: asKey }), 403, 'insufficient-permission');
      expectProblem(await suite.rampart.request(`/v1/api-keys/${key.id}`, { method: 'DELETE', headers: asKey }), 403, 'insufficient-permission');
    });

    it('keeps tenants apart: another tenant\'s users and keys are not found (404)', async () => {
      const mine = await tenant('iso-a');
      const theirs = await tenant('iso-b');
      const theirKey = (await mint(theirs.admin, ['contact:write'])).json<{ id: string }>();
      const theirUsers = (await suite.rampart.request('/v1/admin/users', { headers: bearer(theirs.admin) })).json<{ users: Array<{ id: string }> }>().users;
      const patch = await suite.rampart.request(`/v1/admin/users/${theirUsers[0]!.id}`, { method: 'PATCH', headers: { 'content-type': 'application/json', ...bearer(mine.admin) }, body: JSON.stringify({ disabled: true }) });
      expectProblem(patch, 404, 'user-not-found');
      expectProblem(await suite.rampart.request(`/v1/api-keys/${theirKey.id}`, { method: 'DELETE', headers: bearer(mine.admin) }), 404, 'api-key-not-found');
      expect((await listKeys(bearer(mine.member))).json<{ api_keys: unknown[] }>().api_keys).toEqual([]);
    });
  });

  describe.skipIf(!factory.available)('RBAC_EXTRA_PERMISSIONS checked at start', () => {
    it('refuses to start on an unknown role or a malformed permission', async () => {
      const target = await factory.create();
      try {
        const rampart = await startRampart({ env: authEnv(target, { RBAC_EXTRA_PERMISSIONS: 'owner=reports:read;member=Reports' }), expectExit: true });
        expect(await rampart.exited).not.toBe(0);
        expect(rampart.stderr() + rampart.stdout()).toMatch(/RBAC_EXTRA_PERMISSIONS: "owner" is not a role \(admin, member, viewer\); "Reports" is not a permission/);
      } finally {
        await target.cleanup();
      }
    });
  });
});
