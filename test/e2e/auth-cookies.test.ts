import { describe, expect, it } from 'vitest';
import { bearer, logIn, PASSWORD, postJson, rampartOnFreshDatabase, signUp, uniqueEmail } from '../support/auth-client.js';
import { databaseTargets } from '../support/databases.js';
import type { HttpResponse } from '../support/rampart-process.js';

const PUBLIC_ORIGIN = 'https://rampart.example.test';
const CONSOLE_ORIGIN = 'https://console.example.test';
const COOKIE_ENV = { PUBLIC_BASE_URL: `${PUBLIC_ORIGIN}/`, CORS_ORIGINS: CONSOLE_ORIGIN, AUTH_REFRESH_REUSE_INTERVAL_S: '0' };

interface SetCookie {
  name: string;
  value: string;
  attributes: Record<string, string | true>;
}

function setCookies(res: HttpResponse): Map<string, SetCookie> {
  const header = res.headers['set-cookie'];
  const lines = header === undefined ? [] : Array.isArray(header) ? header : [header];
  return new Map(lines.map((line) => {
    const [pair, ...attributes] = line.split(';').map((part) => part.trim());
    const at = pair!.indexOf('=');
    const cookie: SetCookie = {
      name: pair!.slice(0, at),
      value: pair!.slice(at + 1),
      attributes: Object.fromEntries(attributes.map((a) => {
        const [key, value] = a.split('=');
        return [key!.toLowerCase(), value ?? true];
      })),
    };
    return [cookie.name, cookie];
  }));
}

interface Browser {
  cookie: string;
  csrf: string;
  cookies: Map<string, SetCookie>;
}

const cookieHeader = (cookies: Map<string, SetCookie>) => [...cookies.values()].map((c) => `${c.name}=${c.value}`).join('; ');
const sessionIdOf = (accessToken: string) => (JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString('utf8')) as { sid: string }).sid;

describe.each(databaseTargets())('browser sessions in cookies on $name', (factory) => {
  describe.skipIf(!factory.available)('cookie mode and CSRF', () => {
    const suite = rampartOnFreshDatabase(factory, COOKIE_ENV);

    async function cookieLogin(email: string): Promise<{ res: HttpResponse; browser: Browser }> {
      const res = await postJson(suite.rampart, '/v1/auth/login', { email, password: PASSWORD }, { 'x-rampart-session': 'cookie' });
      expect(res.status).toBe(200);
      const cookies = setCookies(res);
      return { res, browser: { cookie: cookieHeader(cookies), csrf: res.json<{ csrf_token: string }>().csrf_token, cookies } };
    }
    async function signedInBrowser(label: string): Promise<{ email: string; browser: Browser }> {
      const email = uniqueEmail(label);
      await signUp(suite.rampart, email);
      return { email, browser: (await cookieLogin(email)).browser };
    }

    it('sets __Host- cookies (Secure, HttpOnly, SameSite=Strict, Path=/, no Domain) and keeps the tokens out of the body', async () => {
      const email = uniqueEmail('cookie-login');
      await signUp(suite.rampart, email);
      const { res, browser } = await cookieLogin(email);

      const body = res.json();
      expect(body).toEqual({ token_type: 'cookie', expires_in: 900, csrf_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
      expect(res.headers['cache-control']).toBe('no-store');
      const { cookies } = browser;
      expect([...cookies.keys()].sort()).toEqual(['__Host-rampart_access', '__Host-rampart_csrf', '__Host-rampart_refresh']);
      expect(cookies.get('__Host-rampart_access')!.attributes).toEqual({ 'max-age': '900', path: '/', httponly: true, secure: true, samesite: 'Strict' });
      expect(cookies.get('__Host-rampart_refresh')!.attributes).toMatchObject({ path: '/', httponly: true, secure: true, samesite: 'Strict' });
      // The CSRF cookie is for the page's script, so it is the one cookie without HttpOnly.
      expect(cookies.get('__Host-rampart_csrf')!.attributes).toEqual({ 'max-age': expect.any(String), path: '/', secure: true, samesite: 'Strict' });
      expect(cookies.get('__Host-rampart_csrf')!.value).toBe(body.csrf_token);
      for (const cookie of cookies.values()) expect(cookie.attributes).not.toHaveProperty('domain');
    });

    it('authenticates a read with the cookie alone', async () => {
      const { email, browser } = await signedInBrowser('cookie-read');
      const me = await suite.rampart.request('/v1/me', { headers: { cookie: browser.cookie } });
      expect(me.status).toBe(200);
      expect(me.json()).toMatchObject({ email });
    });

    it('refuses a cookie-authenticated write without the right Origin and CSRF token, and allows it with both', async () => {
      const { email, browser } = await signedInBrowser('cookie-write');
      const other = await logIn(suite.rampart, email);
      const { browser: stranger } = await signedInBrowser('cookie-stranger');
      const revoke = (headers: Record<string, string>) =>
        suite.rampart.request(`/v1/auth/sessions/${sessionIdOf(other.access_token)}`, { method: 'DELETE', headers: { cookie: browser.cookie, ...headers } });
      const expectCsrfFailed = (res: HttpResponse) => {
        expect(res.status).toBe(403);
        expect(res.json()).toMatchObject({ type: '/problems/csrf-failed' });
      };

      expectCsrfFailed(await revoke({ 'x-csrf-token': browser.csrf }));
      expectCsrfFailed(await revoke({ origin: 'https://evil.example.test', 'x-csrf-token': browser.csrf }));
      expectCsrfFailed(await revoke({ origin: PUBLIC_ORIGIN }));
      expectCsrfFailed(await revoke({ origin: PUBLIC_ORIGIN, 'x-csrf-token': stranger.csrf }));
      expect((await suite.rampart.request('/v1/me', { headers: bearer(other.access_token) })).status).toBe(200);

      expect((await revoke({ origin: PUBLIC_ORIGIN, 'x-csrf-token': browser.csrf })).status).toBe(204);
      expect((await suite.rampart.request('/v1/me', { headers: bearer(other.access_token) })).status).toBe(401);
    });

    it('accepts writes from a CORS_ORIGINS origin, on the API-key routes too', async () => {
      const { browser } = await signedInBrowser('cookie-console');
      const res = await postJson(suite.rampart, '/v1/api-keys', { name: 'from the console', scopes: ['contact:read'] }, { cookie: browser.cookie, origin: CONSOLE_ORIGIN, 'x-csrf-token': browser.csrf });
      expect(res.status).toBe(201);
      const forged = await postJson(suite.rampart, '/v1/api-keys', { name: 'forged', scopes: ['contact:read'] }, { cookie: browser.cookie, origin: 'https://evil.example.test', 'x-csrf-token': browser.csrf });
      expect(forged.status).toBe(403);
    });

    it('leaves Bearer requests without an Origin or CSRF token alone', async () => {
      const email = uniqueEmail('bearer-write');
      await signUp(suite.rampart, email);
      const pair = await logIn(suite.rampart, email);
      const res = await postJson(suite.rampart, '/v1/api-keys', { name: 'from a script', scopes: ['contact:read'] }, bearer(pair.access_token));
      expect(res.status).toBe(201);
    });

    it('rotates both cookies on a cookie refresh, and refuses one without the CSRF check before rotating', async () => {
      const { browser } = await signedInBrowser('cookie-refresh');
      const refreshOnly = `__Host-rampart_refresh=${browser.cookies.get('__Host-rampart_refresh')!.value}`;
      const forged = await postJson(suite.rampart, '/v1/auth/refresh', {}, { cookie: refreshOnly, origin: 'https://evil.example.test' });
      expect(forged.status).toBe(403);

      const res = await postJson(suite.rampart, '/v1/auth/refresh', {}, { cookie: refreshOnly, origin: PUBLIC_ORIGIN, 'x-csrf-token': browser.csrf });
      expect(res.status).toBe(200);
      expect(res.json()).toEqual({ token_type: 'cookie', expires_in: 900, csrf_token: browser.csrf });
      const rotated = setCookies(res);
      expect(rotated.get('__Host-rampart_access')!.value).not.toBe(browser.cookies.get('__Host-rampart_access')!.value);
      expect(rotated.get('__Host-rampart_refresh')!.value).not.toBe(browser.cookies.get('__Host-rampart_refresh')!.value);
      expect((await suite.rampart.request('/v1/me', { headers: { cookie: cookieHeader(rotated) } })).status).toBe(200);
    });

    it('clears the cookies on logout, and the old access cookie stops working', async () => {
      const { browser } = await signedInBrowser('cookie-logout');
      const out = await suite.rampart.request('/v1/auth/logout', { method: 'POST', headers: { cookie: browser.cookie, origin: PUBLIC_ORIGIN, 'x-csrf-token': browser.csrf } });
      expect(out.status).toBe(204);
      const cleared = setCookies(out);
      expect([...cleared.keys()].sort()).toEqual(['__Host-rampart_access', '__Host-rampart_csrf', '__Host-rampart_refresh']);
      for (const cookie of cleared.values()) {
        expect(cookie.value).toBe('');
        expect(cookie.attributes).toMatchObject({ 'max-age': '0', path: '/', secure: true, samesite: 'Strict' });
      }
      expect((await suite.rampart.request('/v1/me', { headers: { cookie: browser.cookie } })).status).toBe(401);
    });
  });
});
