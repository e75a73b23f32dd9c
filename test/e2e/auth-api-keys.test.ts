import { describe, expect, it } from 'vitest';
import { bearer, logIn, postJson, signUp, uniqueEmail, withDatabase, rampartOnFreshDatabase } from '../support/auth-client.js';
import { databaseTargets } from '../support/databases.js';

interface Issued { id: string; key: string; prefix: string }
interface Listed { id: string; name: string; prefix: string; scopes: string[]; created_at: string; expires_at: string | null; last_used_at: string | null; revoked_at: string | null }

describe.each(databaseTargets())('API keys on $name', (factory) => {
  describe.skipIf(!factory.available)('create, use, scope, rotate, revoke', () => {
    const suite = rampartOnFreshDatabase(factory);
    const minted: string[] = [];

    async function signedIn(label: string): Promise<string> {
      const email = uniqueEmail(label);
      await signUp(suite.rampart, email);
      return (await logIn(suite.rampart, email)).access_token;
    }
    async function mint(token: string, body: Record<string, unknown> = { name: 'ci deploy', scopes: ['contact:read'] }): Promise<Issued> {
      const res = await postJson(suite.rampart, '/v1/api-keys', body, bearer(token));
      expect(res.status, res.body).toBe(201);
      const issued = res.json<Issued>();
      minted.push(issued.key);
      return issued;
    }
    const list = async (token: string) => (await suite.rampart.request('/v1/api-keys', { headers: bearer(token) })).json<{ api_keys: Listed[] }>().api_keys;
    const whoami = (key: string, need?: string) => suite.rampart.request(`/v1/api-keys/whoami${need ? `?need=${need}` : ''}`, { headers: { 'x-api-key': key } });
    const refusedAsInvalidKey = async (key: string) => {
      const res = await whoami(key);
      expect(res.status).toBe(401);
      expect(res.json()).toMatchObject({ type: '/problems/invalid-api-key' });
    };

    it('shows a new key once; the listing never shows it; the key authenticates', async () => {
      const token = await signedIn('create');
      const issued = await mint(token, { name: 'ci deploy', scopes: ['contact:read', 'contact:write'] });
      expect(issued).toEqual({ id: expect.any(String), key: expect.stringMatching(/^rk_test_[0-9A-Za-z]{38}$/), prefix: issued.key.slice(0, 12) });

      const res = await suite.rampart.request('/v1/api-keys', { headers: bearer(token) });
      expect(res.status).toBe(200);
      expect(res.body).not.toContain(issued.key);
      expect(res.body).not.toMatch(/[0-9a-f]{64}/);
      expect(res.json<{ api_keys: Listed[] }>().api_keys).toEqual([{
        id: issued.id, name: 'ci deploy', prefix: issued.prefix, scopes: ['contact:read', 'contact:write'],
        created_at: expect.any(String), expires_at: null, last_used_at: null, revoked_at: null,
      }]);

      const me = await whoami(issued.key);
      expect(me.status).toBe(200);
      expect(me.json()).toEqual({ kind: 'api_key', tenant_id: expect.any(String), api_key_id: issued.id, scopes: ['contact:read', 'contact:write'] });
      expect((await suite.rampart.request('/v1/api-keys/whoami', { headers: bearer(token) })).json()).toMatchObject({ kind: 'user', role: 'admin' });
    });

    it('refuses a misspelt or unknown scope with 422 naming it and listing every valid scope, and creates no key', async () => {
      const token = await signedIn('unknown-scope');
      const res = await postJson(suite.rampart, '/v1/api-keys', { name: 'typo', scopes: ['contact:read', 'documents:wirte', 'users:read'] }, bearer(token));
      expect(res.status, res.body).toBe(422);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      const problem = res.json<{ type: string; detail: string; errors: Array<{ field: string; message: string }> }>();
      expect(problem.type).toBe('/problems/unknown-scope');
      expect(problem.detail).toContain('"documents:wirte"');
      expect(problem.errors.map((e) => e.field)).toEqual(['body/scopes/1', 'body/scopes/2']);
      const valid = ['api-keys:read', 'api-keys:*', 'contact:read', 'contact:write', 'documents:read', 'documents:write', 'documents:*', 'contact:*'];
      for (const scope of valid) expect(problem.detail).toContain(scope);
      expect(await list(token)).toEqual([]);
      // Every scope the answer lists is accepted.
      const listed = /Valid scopes: (.*)\.$/.exec(problem.detail)![1]!.split(', ');
      expect(listed.sort()).toEqual([...valid].sort());
      await mint(token, { name: 'all', scopes: listed });
    });

    it('refuses a key without the scope a request needs (403), accepts one with it', async () => {
      const token = await signedIn('scope');
      const reader = await mint(token, { name: 'reader', scopes: ['contact:read'] });
      const refused = await whoami(reader.key, 'contact:write');
      expect(refused.status).toBe(403);
      expect(refused.json()).toMatchObject({ type: '/problems/insufficient-scope' });
      expect((await whoami(reader.key, 'contact:read')).status).toBe(200);
    });

    it('revokes a key at once (204, then 401)', async () => {
      const token = await signedIn('revoke');
      const issued = await mint(token);
      expect((await whoami(issued.key)).status).toBe(200);
      const res = await suite.rampart.request(`/v1/api-keys/${issued.id}`, { method: 'DELETE', headers: bearer(token) });
      expect(res.status).toBe(204);
      await refusedAsInvalidKey(issued.key);
      expect((await list(token))[0]!.revoked_at).toEqual(expect.any(String));
    });

    it('refuses an expired key', async () => {
      const token = await signedIn('expire');
      const issued = await mint(token, { name: 'short lived', scopes: ['contact:read'], expires_at: new Date(Date.now() + 1_500).toISOString() });
      expect((await whoami(issued.key)).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 1_700));
      await refusedAsInvalidKey(issued.key);
    });

    it('refuses malformed keys quickly: SQL payload, wrong checksum, 10 KB header, unknown key', async () => {
      const token = await signedIn('malformed');
      const { key } = await mint(token);
      const wrongChecksum = `${key.slice(0, -1)}${key.at(-1) === 'A' ? 'B' : 'A'}`;
      const started = Date.now();
      for (const bad of ["rk_test_' OR '1'='1' --", wrongChecksum, `rk_test_${'A'.repeat(10 * 1024)}`, key.replace('rk_test_', 'rk_live_'), '']) await refusedAsInvalidKey(bad);
      expect(Date.now() - started).toBeLessThan(1_000);
    });

    it('rotation keeps the id and kills the old key at once (overlap 0)', async () => {
      const token = await signedIn('rotate');
      const first = await mint(token, { name: 'rotating', scopes: ['contact:read'] });
      const res = await suite.rampart.request(`/v1/api-keys/${first.id}/rotate`, { method: 'POST', headers: bearer(token) });
      expect(res.status).toBe(200);
      const second = res.json<Issued>();
      minted.push(second.key);
      expect(second.id).toBe(first.id);
      await refusedAsInvalidKey(first.key);
      expect((await whoami(second.key)).json()).toMatchObject({ api_key_id: first.id, scopes: ['contact:read'] });
    });

    it('keeps tenants apart: another tenant\'s key is not found to list, rotate or revoke', async () => {
      const ann = await signedIn('tenant-a');
      const bob = await signedIn('tenant-b');
      const annKey = await mint(ann);
      expect(await list(bob)).toEqual([]);
      for (const [method, path] of [['POST', `/v1/api-keys/${annKey.id}/rotate`], ['DELETE', `/v1/api-keys/${annKey.id}`]] as const) {
        const res = await suite.rampart.request(path, { method, headers: bearer(bob) });
        expect(res.status, `${method} ${path}`).toBe(404);
        expect(res.json()).toMatchObject({ type: '/problems/api-key-not-found' });
      }
      expect((await whoami(annKey.key)).status).toBe(200);
    });

    it('a key cannot mint or revoke keys (403), lists them only with api-keys:read, and never reaches user routes', async () => {
      const token = await signedIn('no-minting');
      const issued = await mint(token);
      const asKey = { 'x-api-key': issued.key };
      for (const res of [
        await postJson(suite.rampart, '/v1/api-keys', { name: 'child', scopes: ['contact:read'] }, asKey),
        await suite.rampart.request(`/v1/api-keys/${issued.id}`, { method: 'DELETE', headers: asKey }),
      ]) {
        expect(res.status).toBe(403);
        expect(res.json()).toMatchObject({ type: '/problems/insufficient-permission' });
      }
      expect((await suite.rampart.request('/v1/api-keys', { headers: asKey })).json()).toMatchObject({ type: '/problems/insufficient-scope' });
      const me = await suite.rampart.request('/v1/me', { headers: asKey });
      expect(me.status).toBe(401);
      expect(me.json()).toMatchObject({ type: '/problems/invalid-token' });
    });

    it('records last_used_at a few seconds after use, without a write per request', async () => {
      const token = await signedIn('last-used');
      const issued = await mint(token);
      for (let i = 0; i < 5; i++) expect((await whoami(issued.key)).status).toBe(200);
      let lastUsed: string | null = null;
      for (let waited = 0; waited < 10_000 && lastUsed === null; waited += 250) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        lastUsed = (await list(token))[0]!.last_used_at;
      }
      expect(lastUsed).toEqual(expect.any(String));
    });

    it('never writes a key to the logs, and audits key changes', async () => {
      await suite.rampart.stop();
      expect(minted.length).toBeGreaterThan(5);
      const stdout = suite.rampart.stdout();
      for (const key of minted) expect(stdout).not.toContain(key);
      await withDatabase(suite.target, async (db) => {
        const actions = (await db.selectFrom('audit_events').select('action').where('action', 'like', 'auth.api_key.%').execute()).map((e) => e.action);
        expect(actions).toEqual(expect.arrayContaining(['auth.api_key.created', 'auth.api_key.rotated', 'auth.api_key.revoked']));
      });
    });
  });
});
