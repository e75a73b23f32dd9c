import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEmailProtection } from '../../src/features/auth/email-protection.js';
import { createFieldKeyring } from '../../src/platform/crypto/field-keyring.js';
import { bearer, E2E_APP_SECRET, logIn, PASSWORD, postJson, signUp, uniqueEmail, withDatabase, rampartOnFreshDatabase } from '../support/auth-client.js';
import { databaseTargets } from '../support/databases.js';

describe.each(databaseTargets())('accounts on $name', (factory) => {
  describe.skipIf(!factory.available)('sign-up, login and /v1/me', () => {
    const suite = rampartOnFreshDatabase(factory);

    it('signs up the first user of a new tenant as admin, logs in and answers /v1/me', async () => {
      const email = uniqueEmail('first');
      const signup = await postJson(suite.rampart, '/v1/auth/signup', { email, password: PASSWORD });
      expect(signup.status).toBe(201);
      const user = signup.json<{ id: string; tenant_id: string; role: string; email: string }>();
      expect(user).toMatchObject({ email, role: 'admin', id: expect.any(String), tenant_id: expect.any(String) });
      expect(signup.body).not.toContain(PASSWORD);

      const login = await postJson(suite.rampart, '/v1/auth/login', { email, password: PASSWORD });
      expect(login.status).toBe(200);
      expect(login.headers['cache-control']).toBe('no-store');
      const pair = login.json<{ access_token: string; refresh_token: string; token_type: string; expires_in: number }>();
      expect(pair).toMatchObject({ token_type: 'Bearer', expires_in: 900 });
      expect(Buffer.from(pair.refresh_token, 'base64url').length).toBeGreaterThanOrEqual(32);

      const me = await suite.rampart.request('/v1/me', { headers: bearer(pair.access_token) });
      expect(me.status).toBe(200);
      expect(me.json()).toMatchObject({ id: user.id, email, tenant_id: user.tenant_id, role: 'admin' });
    });

    it('gives each sign-up its own tenant', async () => {
      const a = await signUp(suite.rampart, uniqueEmail('tenant-a'));
      const b = await signUp(suite.rampart, uniqueEmail('tenant-b'));
      expect(a.tenant_id).not.toBe(b.tenant_id);
    });

    it.each([
      ['short', 'eleven-char', 'min-length'],
      ['common', 'Password1234', 'common-password'],
      ['common keyboard walk', 'qwertyuiop123', 'common-password'],
      ['too long', 'x'.repeat(1025), 'max-length'],
    ])('refuses a %s password with 422 naming the rule', async (_label, password, rule) => {
      const res = await postJson(suite.rampart, '/v1/auth/signup', { email: uniqueEmail('weak'), password });
      expect(res.status).toBe(422);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      const problem = res.json<{ type: string; detail: string; errors: Array<{ field: string; message: string }> }>();
      expect(problem.type).toBe('/problems/weak-password');
      expect(problem.detail).toContain(rule);
      expect(problem.errors).toEqual([{ field: 'body/password', message: expect.stringContaining(rule) }]);
      expect(res.body).not.toContain(password);
    });

    it('names every invalid field at once, the email in words: a bad email and a short password', async () => {
      const res = await postJson(suite.rampart, '/v1/auth/signup', { email: 'not an address', password: 'short' });
      expect(res.status, res.body).toBe(422);
      const problem = res.json<{ type: string; errors: Array<{ field: string; message: string }> }>();
      expect(problem.type).toBe('/problems/validation-failed');
      expect(problem.errors.map((e) => e.field).sort()).toEqual(['body/email', 'body/password']);
      const email = problem.errors.find((e) => e.field === 'body/email')!.message;
      expect(email).toMatch(/^must be an email address such as name@example\.com/);
      expect(email).not.toMatch(/pattern|\^|\[A-Z/);
      expect(problem.errors.find((e) => e.field === 'body/password')!.message).toContain('min-length');
      expect(res.body).not.toContain('A-Za-z0-9');
      // The same words wherever an address is taken.
      for (const [path, body] of [['/v1/auth/login', { email: 'x@y', password: 'whatever it is' }], ['/v1/auth/password/forgot', { email: 'x@y' }]] as const) {
        const other = await postJson(suite.rampart, path, body);
        expect(other.status).toBe(422);
        expect(other.json<{ errors: Array<{ message: string }> }>().errors[0]!.message).toMatch(/^must be an email address/);
      }
    });

    it('accepts a 128-character passphrase', async () => {
      const email = uniqueEmail('long');
      const password = 'correct horse battery staple '.repeat(5).slice(0, 128);
      expect((await postJson(suite.rampart, '/v1/auth/signup', { email, password })).status).toBe(201);
      expect((await postJson(suite.rampart, '/v1/auth/login', { email, password })).status).toBe(200);
    });

    it('refuses a second account for the same email in any letter case with 409', async () => {
      const email = uniqueEmail('dup');
      await signUp(suite.rampart, email);
      const again = await postJson(suite.rampart, '/v1/auth/signup', { email: email.toUpperCase(), password: PASSWORD });
      expect(again.status).toBe(409);
      expect(again.json()).toMatchObject({ type: '/problems/email-taken' });
    });

    it('logs in whatever the letter case of the email', async () => {
      const email = uniqueEmail('case');
      await signUp(suite.rampart, email);
      expect((await logIn(suite.rampart, email.toUpperCase())).token_type).toBe('Bearer');
    });

    it('answers a wrong password and an unknown account with the same 401 problem', async () => {
      const email = uniqueEmail('known');
      await signUp(suite.rampart, email);
      const wrong = await postJson(suite.rampart, '/v1/auth/login', { email, password: 'not the right password' });
      const unknown = await postJson(suite.rampart, '/v1/auth/login', { email: uniqueEmail('nobody'), password: PASSWORD });
      for (const res of [wrong, unknown]) {
        expect(res.status).toBe(401);
        expect(res.json()).toMatchObject({ type: '/problems/invalid-credentials', detail: 'The email or password is incorrect.' });
      }
    });

    it('refuses SQL and script payloads in the email with 422', async () => {
      for (const email of [
        "x'; drop table users; --@example.com",
        "' OR '1'='1@example.com",
        '<script>alert(1)</script>@example.com',
        'admin@example.com<img src=x onerror=alert(1)>',
        'robert"); DELETE FROM users;--@example.com',
      ]) {
        const res = await postJson(suite.rampart, '/v1/auth/signup', { email, password: PASSWORD });
        expect(res.status, email).toBe(422);
        expect(res.json<{ errors: Array<{ field: string }> }>().errors[0]?.field).toBe('body/email');
      }
    });

    it('refuses missing fields and extra ones, listing each', async () => {
      const res = await postJson(suite.rampart, '/v1/auth/signup', { password: 1, role: 'admin' });
      expect(res.status).toBe(422);
      const fields = res.json<{ errors: Array<{ field: string }> }>().errors.map((e) => e.field);
      expect(fields).toEqual(expect.arrayContaining(['body/email', 'body/password']));
    });

    it('documents every auth route in /openapi.json', async () => {
      const paths = Object.keys((await suite.rampart.request('/openapi.json')).json<{ paths: Record<string, unknown> }>().paths);
      expect(paths).toEqual(expect.arrayContaining([
        '/v1/auth/signup', '/v1/auth/login', '/v1/auth/refresh', '/v1/auth/logout', '/v1/auth/sessions', '/v1/auth/sessions/{id}', '/v1/me', '/.well-known/jwks.json',
      ]));
    });

    it('keeps passwords and tokens out of the logs', async () => {
      const email = uniqueEmail('logs');
      await signUp(suite.rampart, email);
      const pair = await logIn(suite.rampart, email);
      await suite.rampart.request('/v1/me', { headers: bearer(pair.access_token) });
      for (const secret of [PASSWORD, pair.access_token, pair.refresh_token]) expect(suite.rampart.stdout()).not.toContain(secret);
    });

    it('stored nothing from refused sign-ups, and audited sign-ins and failures with correlation ids', async () => {
      await suite.rampart.stop();
      await withDatabase(suite.target, async (db) => {
        const stored = await db.selectFrom('users').select(['id', 'email', 'email_encrypted']).execute();
        // Addresses are stored encrypted (field-level encryption), never in clear…
        expect(stored.every((u) => u.email === null && u.email_encrypted?.startsWith('fe1.'))).toBe(true);
        // …under the development keys generated into the data dir; none is a refused one.
        const generated = JSON.parse(readFileSync(join(suite.target.dataDir, 'secrets.json'), 'utf8')) as { FIELD_ENCRYPTION_KEYS: string };
        const emails = createEmailProtection(createFieldKeyring(generated.FIELD_ENCRYPTION_KEYS), E2E_APP_SECRET);
        const addresses = stored.map((u) => emails.open(u));
        expect(addresses.length).toBeGreaterThan(0);
        expect(addresses.every((e) => /^[\w.+-]+@example\.com$/.test(e))).toBe(true);
        expect(addresses.some((e) => /[<>'";]|weak/.test(e))).toBe(false);
        const hashes = (await db.selectFrom('users').select('password_hash').execute()).map((u) => u.password_hash);
        expect(hashes.every((h) => h.startsWith('$argon2id$'))).toBe(true);
        const actions = await db.selectFrom('audit_events').select(['action', 'correlation_id', 'ip']).execute();
        expect(actions.map((a) => a.action)).toEqual(expect.arrayContaining(['auth.signup', 'auth.login.succeeded', 'auth.login.failed']));
        expect(actions.every((a) => a.correlation_id && a.ip === '127.0.0.1')).toBe(true);
      });
    });
  });
});
