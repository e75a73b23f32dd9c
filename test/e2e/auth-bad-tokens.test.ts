import { createPublicKey, type KeyObject } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptPrivateKey, deriveKeyEncryptionKey } from '../../src/features/auth/signing-keys.js';
import { authEnv, bearer, E2E_APP_SECRET, logIn, signUp, uniqueEmail, withDatabase, type TokenPair } from '../support/auth-client.js';
import { databaseTargets, type DatabaseTarget } from '../support/databases.js';
import { forgedTokens, respelledTokens, type GenuineKey } from '../support/jwt-forgery.js';
import { startRampart, type RampartProcess } from '../support/rampart-process.js';

describe.each(databaseTargets())('token verification on $name', (factory) => {
  describe.skipIf(!factory.available)('JWKS and forged tokens', () => {
    let target: DatabaseTarget;
    let rampart: RampartProcess;
    let pair: TokenPair;
    let key: GenuineKey;
    beforeAll(async () => {
      target = await factory.create();
      rampart = await startRampart({ env: authEnv(target) });
      const email = uniqueEmail('forged');
      await signUp(rampart, email);
      pair = await logIn(rampart, email);
      // The attacks that need a valid signature (expired, wrong aud…) are signed with the real
      // key, read the way only someone holding APP_SECRET and the database could.
      await rampart.stop();
      key = await withDatabase(target, async (db) => {
        const row = await db.selectFrom('signing_keys').selectAll().where('retired_at', 'is', null).executeTakeFirstOrThrow();
        const privateKey: KeyObject = decryptPrivateKey(row.private_key_encrypted, row.kid, deriveKeyEncryptionKey(E2E_APP_SECRET));
        return { kid: row.kid, privateKey, publicKey: createPublicKey(privateKey) };
      });
      rampart = await startRampart({ env: authEnv(target) });
    });
    afterAll(async () => {
      await rampart?.stop();
      await target?.cleanup();
    });

    it('publishes the kid of issued tokens in /.well-known/jwks.json, public parts only', async () => {
      const res = await rampart.request('/.well-known/jwks.json');
      expect(res.status).toBe(200);
      const { keys } = res.json<{ keys: JWK[] }>();
      const { kid } = decodeProtectedHeader(pair.access_token);
      expect(keys.map((k) => k.kid)).toContain(kid);
      expect(keys.find((k) => k.kid === kid)).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
      for (const k of keys) expect(k).not.toHaveProperty('d');
    });

    it('keeps the same signing key across restarts, so issued tokens stay valid', async () => {
      expect(decodeProtectedHeader(pair.access_token).kid).toBe(key.kid);
      expect((await rampart.request('/v1/me', { headers: bearer(pair.access_token) })).status).toBe(200);
    });

    it('answers every forged or misused token with the same 401 problem', async () => {
      const claims = decodeJwt(pair.access_token) as { iss: string; aud: string };
      const forged = await forgedTokens(key, claims, pair.access_token);
      expect(forged.length).toBeGreaterThanOrEqual(15);
      for (const [name, token] of forged) {
        const res = await rampart.request('/v1/me', { headers: bearer(token) });
        expect(res.status, name).toBe(401);
        expect(res.headers['content-type'], name).toMatch(/^application\/problem\+json/);
        expect(res.json(), name).toMatchObject({ type: '/problems/invalid-token', status: 401 });
      }
      // The genuine token still works: nothing above poisoned a cache.
      expect((await rampart.request('/v1/me', { headers: bearer(pair.access_token) })).status).toBe(200);
    });

    it('refuses every other spelling of a genuine token (padding, unused low bits) with 401, in all three segments', async () => {
      const respelled = respelledTokens(pair.access_token);
      // The Ed25519 signature alone (86 characters) has 15 twins besides the padded forms.
      expect(respelled.length).toBeGreaterThanOrEqual(6 + 15);
      for (const segment of ['header', 'payload', 'signature']) expect(respelled.some(([name]) => name.startsWith(segment))).toBe(true);
      for (const [name, token] of respelled) {
        const res = await rampart.request('/v1/me', { headers: bearer(token) });
        expect(res.status, name).toBe(401);
        expect(res.json(), name).toMatchObject({ type: '/problems/invalid-token' });
      }
      expect((await rampart.request('/v1/me', { headers: bearer(pair.access_token) })).status).toBe(200);
    });

    it('refuses a refresh token presented as an access token, and malformed Authorization headers', async () => {
      for (const authorization of [`Bearer ${pair.refresh_token}`, `Basic ${Buffer.from('a:b').toString('base64')}`, 'Bearer', `Bearer ${'a'.repeat(5000)}`, `Bearer ${pair.access_token} extra`]) {
        const res = await rampart.request('/v1/me', { headers: { authorization } });
        expect(res.status, authorization.slice(0, 40)).toBe(401);
      }
    });
  });
});
