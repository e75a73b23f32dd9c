import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authEnv, PASSWORD, signUp, uniqueEmail } from '../support/auth-client.js';
import { databaseTargets, type DatabaseTarget } from '../support/databases.js';
import { startRampart, type RampartProcess } from '../support/rampart-process.js';

// CHROMIUM_PATH: for machines whose Chromium lives elsewhere; CI installs it at /usr/bin/chromium.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const pglite = databaseTargets().find((target) => target.name === 'pglite')!;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    }).on('error', reject);
  });
}

/** Another site: 127.0.0.1 is not the same site as localhost, where the console signs in. */
function attackerSite(rampartPort: number): Promise<Server> {
  const victim = `http://localhost:${rampartPort}`;
  const page = `<!doctype html><html><body>
<form id="forged" method="POST" action="${victim}/v1/auth/logout" target="sink"></form>
<iframe name="sink"></iframe>
<script>
  window.attack = async () => {
    const results = [];
    for (const mode of ['no-cors', 'cors']) {
      try {
        await fetch('${victim}/v1/auth/logout', { method: 'POST', mode, credentials: 'include', headers: mode === 'cors' ? { 'x-csrf-token': document.cookie } : {} });
        results.push(mode + ': sent');
      } catch (error) { results.push(mode + ': ' + error.message); }
    }
    document.getElementById('forged').submit();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    return results;
  };
</script></body></html>`;
  const server = createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end(page));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('the browser console session against another site', () => {
  let target: DatabaseTarget;
  let rampart: RampartProcess;
  let attacker: Server;
  beforeAll(async () => {
    target = await pglite.create();
    // The console's origin must be PUBLIC_BASE_URL's, so the port is chosen before the start.
    const port = await freePort();
    rampart = await startRampart({ env: authEnv(target, { PORT: String(port), PUBLIC_BASE_URL: `http://localhost:${port}` }) });
    attacker = await attackerSite(port);
  });
  afterAll(async () => {
    await new Promise((resolve) => attacker?.close(resolve));
    await rampart?.stop();
    await target?.cleanup();
  });

  it('cannot make a cookie-authenticated write from a page on another origin (SameSite=Strict + CSRF check)', async (ctx) => {
    if (!existsSync(CHROMIUM)) {
      if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is required in CI`);
      ctx.skip(true, 'skipped: no Chromium');
    }
    const email = uniqueEmail('browser');
    await signUp(rampart, email);
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const context = await browser.newContext();
      const consolePage = await context.newPage();
      // Chromium counts http://localhost as a secure context, so it keeps Secure __Host- cookies.
      const origin = `http://localhost:${rampart.port}`;
      await consolePage.goto(`${origin}/health`);
      const signIn = await consolePage.evaluate(async ({ email, password }) => {
        const res = await fetch('/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json', 'x-rampart-session': 'cookie' }, body: JSON.stringify({ email, password }) });
        return { status: res.status, body: await res.json() as Record<string, unknown> };
      }, { email, password: PASSWORD });
      expect(signIn.status).toBe(200);
      expect(signIn.body).not.toHaveProperty('access_token');
      const names = (await context.cookies(origin)).map((cookie) => cookie.name).sort();
      expect(names).toEqual(['__Host-rampart_access', '__Host-rampart_csrf', '__Host-rampart_refresh']);
      const me = () => consolePage.evaluate(async () => (await fetch('/v1/me')).status);
      expect(await me()).toBe(200);

      const evil = await context.newPage();
      await evil.goto(`http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`);
      await evil.evaluate(async () => (window as unknown as { attack: () => Promise<string[]> }).attack());

      // The forged requests did reach Rampart (the form and the no-cors fetch; the CORS fetch
      // stops at its preflight), and were refused: no cookie came with them.
      const forged = rampart.logs.filter((line) => line.method === 'POST' && line.path === '/v1/auth/logout');
      expect(forged.length).toBeGreaterThanOrEqual(2);
      expect(forged.every((line) => line.status === 401)).toBe(true);
      // Had any of them carried the cookie and passed the checks, the session would be gone.
      expect(await me()).toBe(200);
      // The page's own script, with the CSRF token from its cookie, can sign out.
      const logout = await consolePage.evaluate(async () => {
        const csrf = document.cookie.split('; ').find((c) => c.startsWith('__Host-rampart_csrf='))!.split('=')[1]!;
        return (await fetch('/v1/auth/logout', { method: 'POST', headers: { 'x-csrf-token': csrf } })).status;
      });
      expect(logout).toBe(204);
      expect(await me()).toBe(401);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
