import { describe, expect, it } from 'vitest';
import { bearer, logIn, PASSWORD, postJson, rampartOnFreshDatabase, signUpConfirmed, uniqueEmail } from '../support/auth-client.js';
import { databaseTargets } from '../support/databases.js';
import type { HttpResponse, RampartProcess } from '../support/rampart-process.js';

// Each tier gets a limit no other has, so a response's RateLimit-Limit names the tier that
// counted it (a request from a fresh address reports its most restrictive tier: the lowest).
const LIMITS = { auth: 7, contact: 8, general: 50, api: 90, global: 5000 } as const;
type Budget = keyof typeof LIMITS | 'none';
const ENV = {
  // So that the confirmation route exists too.
  SIGNUP_EMAIL_VERIFICATION: 'required',
  RATE_LIMIT_ENABLED: 'true',
  RATE_LIMIT_AUTH_PER_MIN: String(LIMITS.auth),
  RATE_LIMIT_CONTACT_PER_MIN: String(LIMITS.contact),
  RATE_LIMIT_GENERAL_PER_MIN: String(LIMITS.general),
  RATE_LIMIT_API_PER_MIN: String(LIMITS.api),
  RATE_LIMIT_GLOBAL_PER_5MIN: String(LIMITS.global),
};

// The intended budgets, by route family. A route that lands in another budget, or a new route
// nobody placed here, fails the test: sharing a budget is a decision, never an accident.
// Refresh is not among them: a refresh token (256 random bits) is not guessed, so it spends the API budget.
const SIGN_IN = ['POST /v1/auth/signup', 'POST /v1/auth/login', 'POST /v1/auth/mfa/verify', 'POST /v1/auth/password/forgot', 'POST /v1/auth/password/reset', 'POST /v1/auth/signup/verify'];
const CONTACT = ['POST /v1/contact'];
const UNLIMITED = ['GET /health', 'GET /readiness', 'GET /assets/'];
const UNDOCUMENTED = ['GET /openapi.json', 'GET /docs', ...UNLIMITED];

// Uploads refuse anything but multipart before the per-route budgets count: an empty
// multipart body reaches them (and is then refused for having no file).
const EMPTY_BODY: Record<string, { headers: Record<string, string>; body: string }> = {
  'POST /v1/documents': { headers: { 'content-type': 'multipart/form-data; boundary=x' }, body: '--x--\r\n' },
};

function intendedBudget(route: string): Budget {
  if (SIGN_IN.includes(route)) return 'auth';
  if (CONTACT.includes(route)) return 'contact';
  if (UNLIMITED.includes(route)) return 'none';
  // Everything else under /v1/ is the API (per caller); the rest is per client IP.
  return route.split(' ')[1]!.startsWith('/v1/') ? 'api' : 'general';
}

const budgetOf = (res: HttpResponse): Budget => {
  const limit = Number(res.headers['ratelimit-limit']);
  const found = (Object.keys(LIMITS) as Array<keyof typeof LIMITS>).find((tier) => LIMITS[tier] === limit);
  return res.headers['ratelimit-limit'] === undefined ? 'none' : (found ?? (`limit ${limit}` as Budget));
};

let nextAddress = 0;
/** A loopback address no earlier request used: each request meets fresh budgets. */
const freshAddress = () => {
  nextAddress += 1;
  return `127.0.${10 + Math.floor(nextAddress / 250)}.${(nextAddress % 250) + 1}`;
};

describe.each(databaseTargets())('rate-limit budgets on $name', (factory) => {
  describe.skipIf(!factory.available)('one budget per route family', () => {
    const suite = rampartOnFreshDatabase(factory, ENV, ['serve', '--with-worker']);

    // Sign-up, confirmation and login spend the sign-in budget of 127.0.0.1: three a tenant.
    async function adminToken(rampart: RampartProcess) {
      const email = uniqueEmail('budgets');
      await signUpConfirmed(rampart, suite.target.dataDir, email);
      return { email, token: (await logIn(rampart, email)).access_token };
    }

    it('counts every route against the budget of its family, and no family shares one by accident', async () => {
      const { rampart } = suite;
      const admin = await adminToken(rampart);
      let token = admin.token;
      const spec = (await rampart.request('/openapi.json')).json<{ paths: Record<string, Record<string, unknown>> }>();
      const routes = Object.entries(spec.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`));
      expect(routes.length).toBeGreaterThan(30);
      // Own-session endpoints that end the session run last.
      const ordered = [...routes, ...UNDOCUMENTED].sort((a, b) => Number(a.includes('logout')) - Number(b.includes('logout')));
      const observed: Record<string, Budget> = {};
      const intended: Record<string, Budget> = {};
      for (const route of ordered) {
        const [method, template] = route.split(' ') as [string, string];
        const path = template.replace(/\{[^}]+\}/g, '5b0f3f8e-1111-4aaa-8bbb-000000000001');
        // No body: validation fails after the rate limit has counted, so nothing changes.
        const empty = EMPTY_BODY[route];
        const call = () => rampart.request(path, { method, headers: { ...bearer(token), ...empty?.headers }, body: empty?.body, localAddress: freshAddress() });
        let res = await call();
        if (res.status === 401 && route.includes('logout')) {
          const again = await rampart.request('/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: admin.email, password: PASSWORD }), localAddress: freshAddress() });
          token = again.json<{ access_token: string }>().access_token;
          res = await call();
        }
        expect(res.status, `${route}: ${res.body}`).not.toBe(429);
        observed[route] = budgetOf(res);
        intended[route] = intendedBudget(route);
      }
      expect(observed).toEqual(intended);
      // Every family the table names exists: a renamed route cannot hide from it.
      for (const route of [...SIGN_IN, ...CONTACT]) expect(Object.keys(observed)).toContain(route);
    });

    it('keeps a contact message possible after the sign-in attempts are used up, and sign-in after contact messages', async () => {
      const { rampart } = suite;
      const { token } = await adminToken(rampart);
      const minted = await postJson(rampart, '/v1/api-keys', { name: 'budgets', scopes: ['contact:write'] }, bearer(token));
      expect(minted.status, minted.body).toBe(201);
      const key = minted.json<{ key: string }>().key;
      const client = freshAddress();
      const signIn = () => rampart.request('/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: uniqueEmail('nobody'), password: 'not the password' }), localAddress: client });
      const contact = (i: number) => rampart.request('/v1/contact', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key },
        body: JSON.stringify({ name: 'Ann', email: 'ann@example.com', message: `message ${i}` }),
        localAddress: client,
      });

      for (let i = 0; i < LIMITS.auth; i++) expect((await signIn()).status).toBe(401);
      expect((await signIn()).status).toBe(429);
      const first = await contact(0);
      expect(first.status, first.body).toBe(202);
      expect(first.headers['ratelimit-limit']).toBe(String(LIMITS.contact));

      for (let i = 1; i < LIMITS.contact; i++) expect((await contact(i)).status).toBe(202);
      const refused = await contact(LIMITS.contact);
      expect(refused.status).toBe(429);
      expect(refused.json()).toMatchObject({ type: '/problems/rate-limited' });
      // The other way round: a fresh client that used up its contact budget can still sign in.
      const other = freshAddress();
      for (let i = 0; i < LIMITS.contact; i++) {
        const res = await rampart.request('/v1/contact', { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify({ name: 'Bo', email: 'bo@example.com', message: `m ${i}` }), localAddress: other });
        expect(res.status).toBe(202);
      }
      const login = await rampart.request('/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: uniqueEmail('nobody'), password: 'x' }), localAddress: other });
      expect(login.status).toBe(401);
    });
  });
});
