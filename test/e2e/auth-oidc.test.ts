import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authEnv, bearer, logIn, postJson, signUp, uniqueEmail } from '../support/auth-client.js';
import { databaseTargets, type DatabaseTarget } from '../support/databases.js';
import { respelledTokens } from '../support/jwt-forgery.js';
import { startRampart, type HttpResponse, type RampartProcess } from '../support/rampart-process.js';

const ISSUER = 'https://idp.example.test/realms/acme';
const AUDIENCE = 'rampart-api';

interface SigningKey { kid: string; alg: string; privateKey: CryptoKey; publicJwk: JWK }

async function signingKey(alg: 'RS256' | 'ES256', kid: string): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** A stand-in for the provider's JWKS endpoint that can be stopped and started on the same port, or answer 500 while `failing`; it counts fetches. */
class JwksServer {
  private server: Server | undefined;
  port = 0;
  fetches = 0;
  failing = false;
  constructor(private readonly keys: JWK[]) {}
  async start(): Promise<void> {
    this.server = createServer((_req, res) => {
      this.fetches++;
      if (this.failing) return void res.writeHead(500, { 'content-type': 'text/plain' }).end('identity provider overloaded');
      res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ keys: this.keys }));
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    server?.closeAllConnections();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  get url() {
    return `http://127.0.0.1:${this.port}/protocol/openid-connect/certs`;
  }
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually(check: () => Promise<void>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(250);
    }
  }
}
const nowS = () => Math.floor(Date.now() / 1000);

describe.each(databaseTargets())('OIDC resource-server mode on $name', (factory) => {
  describe.skipIf(!factory.available)('external access tokens', () => {
    let target: DatabaseTarget;
    let rampart: RampartProcess;
    let jwks: JwksServer;
    let rsa: SigningKey;
    let ec: SigningKey;
    let rogue: SigningKey;
    let tenantId: string;
    let localAdmin: string;

    beforeAll(async () => {
      [rsa, ec, rogue] = await Promise.all([signingKey('RS256', 'rsa-1'), signingKey('ES256', 'ec-1'), signingKey('RS256', 'rogue-1')]);
      jwks = new JwksServer([rsa.publicJwk, ec.publicJwk]);
      await jwks.start();
      target = await factory.create();
      rampart = await startRampart({
        env: authEnv(target, { OIDC_JWKS_URL: jwks.url, OIDC_ISSUER: ISSUER, OIDC_AUDIENCE: AUDIENCE, OIDC_JWKS_CACHE_S: '1' }),
      });
      // A real tenant, so that the admin route has users to list.
      const email = uniqueEmail('oidc-tenant');
      tenantId = (await signUp(rampart, email)).tenant_id;
      localAdmin = email;
    });
    afterAll(async () => {
      await rampart?.stop();
      await jwks?.stop();
      await target?.cleanup();
    });

    function token(claims: JWTPayload = {}, options: { key?: SigningKey; kid?: string; typ?: string | null; expiresIn?: number } = {}): Promise<string> {
      const key = options.key ?? rsa;
      const header: { alg: string; kid: string; typ?: string } = { alg: key.alg, kid: options.kid ?? key.kid };
      if (options.typ !== null) header.typ = options.typ ?? 'at+jwt';
      return new SignJWT({ tid: tenantId, roles: ['member'], email: 'ada@idp.example', ...claims })
        .setProtectedHeader(header)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject('ada')
        .setIssuedAt()
        .setExpirationTime(nowS() + (options.expiresIn ?? 300))
        .sign(key.privateKey);
    }
    const me = (accessToken: string) => rampart.request('/v1/me', { headers: bearer(accessToken) });
    const expectRefused = (res: HttpResponse) => {
      expect(res.status, res.body).toBe(401);
      expect(res.json()).toMatchObject({ type: '/problems/invalid-token' });
      expect(res.headers['www-authenticate']).toBe('Bearer realm="rampart", error="invalid_token"');
    };

    it('lets a valid provider token reach /v1/me, which answers from its claims', async () => {
      const res = await me(await token());
      expect(res.status, res.body).toBe(200);
      expect(res.json()).toEqual({ id: 'oidc:ada', email: 'ada@idp.example', tenant_id: tenantId, role: 'member', session_id: '', external: true });
    });

    it('accepts ES256 keys and tokens typed JWT or untyped, as providers differ', async () => {
      expect((await me(await token({}, { key: ec }))).status).toBe(200);
      expect((await me(await token({}, { typ: 'JWT' }))).status).toBe(200);
      expect((await me(await token({}, { typ: null }))).status).toBe(200);
    });

    it('refuses wrong issuer, wrong audience, expiry, unknown kid, foreign keys and missing tenant alike (401)', async () => {
      const refusals: Array<[string, Promise<string>]> = [
        ['wrong iss', new SignJWT({ tid: tenantId }).setProtectedHeader({ alg: 'RS256', kid: rsa.kid }).setIssuer('https://evil.example').setAudience(AUDIENCE).setSubject('ada').setExpirationTime(nowS() + 300).sign(rsa.privateKey)],
        ['wrong aud', new SignJWT({ tid: tenantId }).setProtectedHeader({ alg: 'RS256', kid: rsa.kid }).setIssuer(ISSUER).setAudience('another-api').setSubject('ada').setExpirationTime(nowS() + 300).sign(rsa.privateKey)],
        ['expired beyond the 30 s skew', token({}, { expiresIn: -120 })],
        ['unknown kid', token({}, { kid: 'no-such-kid' })],
        ['signed by a key not in the JWKS, under a listed kid', token({}, { key: rogue, kid: rsa.kid })],
        ['signed by a key not in the JWKS', token({}, { key: rogue })],
        ['no tenant claim', token({ tid: undefined })],
        ['a tenant claim that is not a tenant id', token({ tid: 'acme' })],
        ['a typ that is not an access token', token({}, { typ: 'refresh+jwt' })],
      ];
      for (const [label, pending] of refusals) {
        const res = await me(await pending);
        expect(res.status, label).toBe(401);
        expectRefused(res);
      }
    });

    it('refuses HS256 signed with a shared secret and alg none, without asking the provider', async () => {
      const claims = { iss: ISSUER, aud: AUDIENCE, sub: 'ada', tid: tenantId, roles: ['admin'], exp: nowS() + 300 };
      const hs256 = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: rsa.kid }).sign(new TextEncoder().encode('a-shared-secret-of-32-bytes-long!!'));
      const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
      // The public key as an HMAC secret: the classic key-confusion forgery.
      const confused = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: rsa.kid }).sign(new TextEncoder().encode(JSON.stringify(rsa.publicJwk)));
      for (const forged of [hs256, none, confused]) expectRefused(await me(forged));
    });

    it('refuses every other spelling of a genuine provider token (padding, unused low bits) with 401', async () => {
      for (const genuine of [await token(), await token({}, { key: ec })]) {
        const respelled = respelledTokens(genuine);
        expect(respelled.some(([name]) => name.startsWith('signature with unused bits'))).toBe(true);
        for (const [name, forged] of respelled) {
          const res = await me(forged);
          expect(res.status, name).toBe(401);
          expectRefused(res);
        }
        expect((await me(genuine)).status).toBe(200);
      }
    });

    it('maps the role claim: only the admin token reaches an admin route', async () => {
      const admin = await rampart.request('/v1/admin/users', { headers: bearer(await token({ roles: ['viewer', 'admin'] })) });
      expect(admin.status, admin.body).toBe(200);
      expect(admin.json<{ users: Array<{ email: string }> }>().users.map((u) => u.email)).toEqual([localAdmin]);
      for (const roles of [['member'], ['viewer'], ['offline_access']]) {
        const res = await rampart.request('/v1/admin/users', { headers: bearer(await token({ roles })) });
        expect(res.status, res.body).toBe(403);
        expect(res.json()).toMatchObject({ type: '/problems/insufficient-permission' });
      }
      // No recognised role: OIDC_DEFAULT_ROLE (viewer) applies, which may read API keys.
      const viewer = await token({ roles: undefined });
      expect((await me(viewer)).json()).toMatchObject({ role: 'viewer' });
      expect((await rampart.request('/v1/api-keys', { headers: bearer(viewer) })).status).toBe(200);
    });

    it('answers 403 external-identity on routes that need a Rampart account', async () => {
      const external = bearer(await token({ roles: ['admin'] }));
      for (const res of [
        await rampart.request('/v1/auth/sessions', { headers: external }),
        await postJson(rampart, '/v1/auth/logout', {}, external),
        await postJson(rampart, '/v1/auth/mfa/totp/enroll', {}, external),
        await postJson(rampart, '/v1/api-keys', { name: 'ci', scopes: ['contact:read'] }, external),
      ]) {
        expect(res.status, res.body).toBe(403);
        expect(res.json()).toMatchObject({ type: '/problems/external-identity' });
      }
    });

    it('keeps Rampart\'s own tokens working beside the provider\'s', async () => {
      const pair = await logIn(rampart, localAdmin);
      expect((await me(pair.access_token)).json()).toMatchObject({ email: localAdmin, role: 'admin' });
    });

    it('keeps accepting provider tokens from the cached keys while the JWKS endpoint fails or is gone, without a fetch per request, and fetches again once it is back', async () => {
      const valid = await token();
      expect((await me(valid)).status).toBe(200);
      jwks.failing = true;
      // Past OIDC_JWKS_CACHE_S the cached set is stale: fetched again, but used while that fails.
      await sleep(1_200);
      const before = jwks.fetches;
      for (let i = 0; i < 40; i++) expect((await me(valid)).status).toBe(200);
      // Backing off from 1 s, doubling: a handful of fetches over these requests, not 40.
      expect(jwks.fetches - before).toBeGreaterThanOrEqual(1);
      expect(jwks.fetches - before).toBeLessThanOrEqual(5);
      await jwks.stop();
      for (let i = 0; i < 10; i++) expect((await me(valid)).status).toBe(200);
      expect((await rampart.request('/readiness')).status).toBe(200);
      expect(rampart.child.exitCode).toBeNull();
      expect(await rampart.waitForLog((l) => l.msg === 'could not fetch the identity provider\'s JWKS')).toMatchObject({ level: 'warn', serving_cached_keys: true });

      jwks.failing = false;
      await jwks.start();
      const recovered = jwks.fetches;
      // Recovery needs no restart: the first request after the current wait (at most a minute) fetches.
      await eventually(async () => {
        expect((await me(valid)).status).toBe(200);
        expect(jwks.fetches).toBeGreaterThan(recovered);
      }, 70_000);
      await rampart.waitForLog((l) => l.msg === 'the identity provider\'s JWKS can be fetched again');
    }, 120_000);

  });

  describe.skipIf(!factory.available)('a provider whose JWKS endpoint fails from the start', () => {
    let target: DatabaseTarget;
    let rampart: RampartProcess;
    let jwks: JwksServer;
    let key: SigningKey;
    beforeAll(async () => {
      key = await signingKey('ES256', 'ec-start');
      jwks = new JwksServer([key.publicJwk]);
      jwks.failing = true;
      await jwks.start();
      target = await factory.create();
      rampart = await startRampart({ env: authEnv(target, { OIDC_JWKS_URL: jwks.url, OIDC_ISSUER: ISSUER, OIDC_AUDIENCE: AUDIENCE }) });
    });
    afterAll(async () => {
      await rampart?.stop();
      await jwks?.stop();
      await target?.cleanup();
    });

    it('answers 503 at once without a fetch per request (no stampede), and serves as soon as the endpoint is back', async () => {
      const valid = await new SignJWT({ tid: '5b0f3f8e-1111-4aaa-8bbb-000000000001' }).setProtectedHeader({ alg: key.alg, kid: key.kid }).setIssuer(ISSUER).setAudience(AUDIENCE).setSubject('ada').setExpirationTime(nowS() + 300).sign(key.privateKey);
      const me = () => rampart.request('/v1/me', { headers: bearer(valid) });
      const burst = await Promise.all(Array.from({ length: 30 }, () => me()));
      for (const res of burst) {
        expect(res.status, res.body).toBe(503);
        expect(res.json()).toMatchObject({ type: '/problems/service-unavailable' });
        expect(res.headers['retry-after']).toBe('5');
      }
      for (let i = 0; i < 30; i++) expect((await me()).status).toBe(503);
      // 60 requests in a second or two: one fetch, then one per doubling wait (1 s, 2 s…).
      expect(jwks.fetches).toBeGreaterThanOrEqual(1);
      expect(jwks.fetches).toBeLessThanOrEqual(4);
      expect((await rampart.request('/readiness')).status).toBe(200);

      jwks.failing = false;
      await eventually(async () => expect((await me()).status).toBe(200), 70_000);
    }, 120_000);
  });
});
