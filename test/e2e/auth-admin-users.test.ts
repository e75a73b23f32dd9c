import { describe, expect, it } from 'vitest';
import { bearer, logIn, PASSWORD, postJson, signUp, uniqueEmail, type TokenPair, rampartOnFreshDatabase } from '../support/auth-client.js';
import { databaseTargets } from '../support/databases.js';
import { type HttpResponse } from '../support/rampart-process.js';

interface AdminUser {
  id: string;
  email: string;
  role: string;
  disabled: boolean;
}

describe.each(databaseTargets())('admin users on $name', (factory) => {
  describe.skipIf(!factory.available)('list, create and update', () => {
    const suite = rampartOnFreshDatabase(factory);

    const expectProblem = (res: HttpResponse, status: number, slug: string) => {
      expect(res.status, res.body).toBe(status);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({ type: `/problems/${slug}` });
    };
    const patch = (token: string, id: string, body: unknown) =>
      suite.rampart.request(`/v1/admin/users/${id}`, { method: 'PATCH', headers: { 'content-type': 'application/json', ...bearer(token) }, body: JSON.stringify(body) });
    const list = (token: string, query = '') => suite.rampart.request(`/v1/admin/users${query}`, { headers: bearer(token) });

    /** A new tenant: its admin (signed in) plus users added by that admin. */
    async function tenant(label: string, members: Array<'admin' | 'member' | 'viewer'> = []): Promise<{ admin: AdminUser; pair: TokenPair; users: AdminUser[] }> {
      const email = uniqueEmail(`${label}-admin`);
      const admin = { ...(await signUp(suite.rampart, email)), email, disabled: false };
      const pair = await logIn(suite.rampart, email);
      const users: AdminUser[] = [];
      for (const role of members) {
        const res = await postJson(suite.rampart, '/v1/admin/users', { email: uniqueEmail(`${label}-${role}`), password: PASSWORD, role }, bearer(pair.access_token));
        expect(res.status, res.body).toBe(201);
        users.push(res.json<AdminUser>());
      }
      return { admin, pair, users };
    }

    it('lists only the users of the caller\'s tenant, a page at a time', async () => {
      const other = await tenant('other', ['member']);
      const mine = await tenant('mine', ['member', 'viewer', 'member']);
      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const res = await list(mine.pair.access_token, `?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        expect(res.status, res.body).toBe(200);
        const page = res.json<{ users: AdminUser[]; next_cursor: string | null }>();
        expect(page.users.length).toBeLessThanOrEqual(2);
        ids.push(...page.users.map((u) => u.id));
        cursor = page.next_cursor;
      } while (cursor);
      expect(ids.sort()).toEqual([mine.admin.id, ...mine.users.map((u) => u.id)].sort());
      expect(ids).not.toContain(other.admin.id);
      expect(ids).not.toContain(other.users[0]!.id);
      expect(JSON.stringify(ids)).not.toContain('password');
    });

    it('refuses a page larger than 100 and a malformed cursor', async () => {
      const { pair } = await tenant('limits');
      expectProblem(await list(pair.access_token, '?limit=101'), 400, 'validation-failed');
      expectProblem(await list(pair.access_token, '?cursor=1%27%20or%201%3D1'), 400, 'validation-failed');
    });

    it('refuses non-admins with 403', async () => {
      const { users } = await tenant('roles', ['member', 'viewer']);
      for (const user of users) {
        const token = (await logIn(suite.rampart, user.email)).access_token;
        expectProblem(await list(token), 403, 'insufficient-permission');
        expectProblem(await patch(token, user.id, { role: 'admin' }), 403, 'insufficient-permission');
        expectProblem(await postJson(suite.rampart, '/v1/admin/users', { email: uniqueEmail('x'), password: PASSWORD, role: 'admin' }, bearer(token)), 403, 'insufficient-permission');
      }
    });

    it('changes a role, and the new role applies at the next sign-in', async () => {
      const { pair, users } = await tenant('promote', ['member']);
      const res = await patch(pair.access_token, users[0]!.id, { role: 'admin' });
      expect(res.status, res.body).toBe(200);
      expect(res.json()).toMatchObject({ id: users[0]!.id, role: 'admin', disabled: false });
      const promoted = await logIn(suite.rampart, users[0]!.email);
      expect((await list(promoted.access_token)).status).toBe(200);
    });

    it('takes admin routes away from a demoted admin at once, without waiting for the token to expire', async () => {
      const { pair, users } = await tenant('demote', ['admin']);
      const second = await logIn(suite.rampart, users[0]!.email);
      expect((await patch(pair.access_token, users[0]!.id, { role: 'member' })).status).toBe(200);
      expectProblem(await list(second.access_token), 403, 'insufficient-permission');
    });

    it('disables a user: their sessions die and login gets the same 401 as a wrong password; enabling lets them back', async () => {
      const { pair, users } = await tenant('disable', ['member']);
      const user = users[0]!;
      const session = await logIn(suite.rampart, user.email);
      expect((await suite.rampart.request('/v1/me', { headers: bearer(session.access_token) })).status).toBe(200);

      const res = await patch(pair.access_token, user.id, { disabled: true });
      expect(res.status, res.body).toBe(200);
      expect(res.json()).toMatchObject({ disabled: true });

      expect((await suite.rampart.request('/v1/me', { headers: bearer(session.access_token) })).status).toBe(401);
      expectProblem(await postJson(suite.rampart, '/v1/auth/refresh', { refresh_token: session.refresh_token }), 401, 'invalid-refresh-token');
      const disabled = await postJson(suite.rampart, '/v1/auth/login', { email: user.email, password: PASSWORD });
      const wrong = await postJson(suite.rampart, '/v1/auth/login', { email: user.email, password: 'not the right passphrase' });
      expectProblem(disabled, 401, 'invalid-credentials');
      expect(disabled.json<{ detail: string }>().detail).toBe(wrong.json<{ detail: string }>().detail);

      expect((await patch(pair.access_token, user.id, { disabled: false })).status).toBe(200);
      expect((await logIn(suite.rampart, user.email)).token_type).toBe('Bearer');
    });

    it('answers 404 for a user of another tenant, and changes nothing', async () => {
      const mine = await tenant('mine404');
      const other = await tenant('other404', ['member']);
      expectProblem(await patch(mine.pair.access_token, other.admin.id, { disabled: true }), 404, 'user-not-found');
      expectProblem(await patch(mine.pair.access_token, other.users[0]!.id, { role: 'admin' }), 404, 'user-not-found');
      expect((await list(other.pair.access_token)).status).toBe(200);
      expect((await logIn(suite.rampart, other.users[0]!.email)).token_type).toBe('Bearer');
    });

    it('refuses to let the last active admin demote or disable themselves with 409', async () => {
      const { admin, pair, users } = await tenant('last', ['member']);
      expectProblem(await patch(pair.access_token, admin.id, { role: 'member' }), 409, 'last-admin');
      expectProblem(await patch(pair.access_token, admin.id, { disabled: true }), 409, 'last-admin');
      // With a second admin, stepping down is allowed.
      expect((await patch(pair.access_token, users[0]!.id, { role: 'admin' })).status).toBe(200);
      expect((await patch(pair.access_token, admin.id, { role: 'member' })).status).toBe(200);
    });

    it.each([
      ['an empty body', {}],
      ['an unknown role', { role: 'owner' }],
      ['a non-boolean disabled', { disabled: 'yes' }],
      ['an extra field', { role: 'member', tenant_id: '00000000-0000-0000-0000-000000000000' }],
    ])('refuses a PATCH with %s with 422', async (_label, body) => {
      const { pair, users } = await tenant('badpatch', ['member']);
      expectProblem(await patch(pair.access_token, users[0]!.id, body), 422, 'validation-failed');
    });

    it('refuses bad bodies when adding a user, and a taken email with 409', async () => {
      const { admin, pair } = await tenant('badcreate');
      const create = (body: unknown) => postJson(suite.rampart, '/v1/admin/users', body, bearer(pair.access_token));
      expectProblem(await create({ email: '<script>@example.com', password: PASSWORD, role: 'member' }), 422, 'validation-failed');
      expectProblem(await create({ email: uniqueEmail('r'), password: PASSWORD, role: 'root' }), 422, 'validation-failed');
      expectProblem(await create({ email: uniqueEmail('r'), password: PASSWORD }), 422, 'validation-failed');
      expectProblem(await create({ email: uniqueEmail('r'), password: 'Password1234', role: 'member' }), 422, 'weak-password');
      expectProblem(await create({ email: admin.email.toUpperCase(), password: PASSWORD, role: 'member' }), 409, 'email-taken');
    });

    it('refuses admin routes without a token with 401', async () => {
      expectProblem(await suite.rampart.request('/v1/admin/users'), 401, 'invalid-token');
    });
  });
});
