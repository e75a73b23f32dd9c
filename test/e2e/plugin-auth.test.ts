import { describe, expect, it } from 'vitest';
import { bearer, logIn, signUp, uniqueEmail, rampartOnFreshDatabase } from '../support/auth-client.js';
import { databaseTargets } from '../support/databases.js';

// test/fixtures/test-routes.mjs registers /test/private behind `app.rampart.authenticate`.
describe.each(databaseTargets())('a route plugin protected by Rampart on $name', (factory) => {
  describe.skipIf(!factory.available)('app.rampart.authenticate', () => {
    const suite = rampartOnFreshDatabase(factory);

    it('refuses a caller without credentials or with a bad token, as the built-in routes do', async () => {
      const missing = await suite.rampart.request('/test/private');
      expect(missing.status).toBe(401);
      expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect((await suite.rampart.request('/test/private', { headers: bearer('not.a.token') })).status).toBe(401);
      expect((await suite.rampart.request('/test/private', { headers: { 'x-api-key': 'rk_test_malformed' } })).status).toBe(401);
    });

    it("gives the plugin a db of the Kysely it imports itself (one copy shared with Rampart's bundle)", async () => {
      const res = await suite.rampart.request('/test/kysely');
      expect(res.status).toBe(200);
      expect(res.json()).toEqual({ dbIsKysely: true, noResultIsShared: true, one: 1 });
    });

    it('hands the verified caller to the plugin route', async () => {
      const email = uniqueEmail('plugin');
      const user = await signUp(suite.rampart, email);
      const { access_token } = await logIn(suite.rampart, email);
      const res = await suite.rampart.request('/test/private', { headers: bearer(access_token) });
      expect(res.status).toBe(200);
      expect(res.json()).toEqual({ user: user.id, key: null });
    });
  });
});
