import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { forgedTokens } from '../../../test/support/jwt-forgery.js';
import { cachedAccessTokenVerifier, InvalidAccessToken, issueAccessToken, verifyAccessToken, type Principal } from './access-tokens.js';
import { generateSigningKey, type Keyring, type SigningKey } from './signing-keys.js';

const settings = { issuer: 'rampart', audience: 'rampart-api', accessTtlS: 900 };
const principal: Principal = { userId: '6f1c1e9e-6d1e-4a4e-9a51-0c4f0c1e2a01', tenantId: 'a2b0f6de-0b6c-4b55-8f0e-4f3d3e0c9a11', role: 'member', sessionId: '0d3b7a56-7d38-4f0e-9a4b-2f1d6c5b4a39' };

async function keyringOf(...keys: SigningKey[]): Promise<Keyring> {
  return {
    current: () => keys[0]!,
    find: async (kid) => keys.find((k) => k.kid === kid),
    jwks: () => ({ keys: keys.map((k) => k.publicJwk) }),
  };
}

const newKey = async (): Promise<SigningKey> => ({ ...(await generateSigningKey()), createdAt: new Date() });

describe('access tokens', () => {
  it('carry sub, tid, role, sid, typ access, iss, aud, a 15-minute exp and the kid', async () => {
    const key = await newKey();
    const token = await issueAccessToken(await keyringOf(key), settings, principal, { id: 'grant-1', issuedAt: new Date() });

    expect(decodeProtectedHeader(token)).toEqual({ alg: 'EdDSA', kid: key.kid, typ: 'JWT' });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ sub: principal.userId, tid: principal.tenantId, role: 'member', sid: principal.sessionId, typ: 'access', iss: 'rampart', aud: 'rampart-api', jti: 'grant-1' });
    expect(claims.exp! - claims.iat!).toBe(900);
    expect(await verifyAccessToken(await keyringOf(key), settings, token)).toEqual(principal);
  });

  it('are the same token for the same grant (deterministic Ed25519)', async () => {
    const keyring = await keyringOf(await newKey());
    const grant = { id: 'grant-2', issuedAt: new Date() };
    expect(await issueAccessToken(keyring, settings, principal, grant)).toBe(await issueAccessToken(keyring, settings, principal, grant));
  });

  it('signed by the previous key still verify after a rotation', async () => {
    const previous = await newKey();
    const token = await issueAccessToken(await keyringOf(previous), settings, principal, { id: 'grant-3', issuedAt: new Date() });
    expect(await verifyAccessToken(await keyringOf(await newKey(), previous), settings, token)).toEqual(principal);
  });

  it('accept up to 30 seconds of clock skew past exp, not more', async () => {
    const keyring = await keyringOf(await newKey());
    const at = (secondsAgo: number) => issueAccessToken(keyring, settings, principal, { id: 'g', issuedAt: new Date(Date.now() - secondsAgo * 1000) });
    await expect(verifyAccessToken(keyring, settings, await at(900 + 20))).resolves.toEqual(principal);
    await expect(verifyAccessToken(keyring, settings, await at(900 + 45))).rejects.toBeInstanceOf(InvalidAccessToken);
  });

  it('refuse every forged or misused token', async () => {
    const key = await newKey();
    const keyring = await keyringOf(key);
    const genuine = await issueAccessToken(keyring, settings, principal, { id: 'grant-4', issuedAt: new Date() });
    const claims = { sub: principal.userId, tid: principal.tenantId, role: principal.role, sid: principal.sessionId, typ: 'access', iss: 'rampart', aud: 'rampart-api' };
    for (const [name, token] of await forgedTokens(key, claims, genuine)) {
      await expect(verifyAccessToken(keyring, settings, token), name).rejects.toBeInstanceOf(InvalidAccessToken);
    }
  });
});

describe('the remembering verifier', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('refuses a remembered token once its key has left the keyring', async () => {
    const key = await newKey();
    const keys = [key];
    const keyring: Keyring = { current: () => keys[0]!, find: async (kid) => keys.find((k) => k.kid === kid), jwks: () => ({ keys: [] }) };
    const verify = cachedAccessTokenVerifier(keyring, settings);
    const token = await issueAccessToken(keyring, settings, principal, { id: 'grant-5', issuedAt: new Date() });
    expect(await verify(token)).toEqual(principal);
    expect(await verify(token)).toEqual(principal);
    keys.splice(0, 1, await newKey());
    await expect(verify(token)).rejects.toBeInstanceOf(InvalidAccessToken);
  });

  it('refuses a remembered token once it is past exp plus the skew', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const keyring = await keyringOf(await newKey());
    const verify = cachedAccessTokenVerifier(keyring, settings);
    const token = await issueAccessToken(keyring, settings, principal, { id: 'grant-6', issuedAt: new Date() });
    expect(await verify(token)).toEqual(principal);
    vi.setSystemTime(Date.now() + (900 + 20) * 1000);
    expect(await verify(token)).toEqual(principal);
    vi.setSystemTime(Date.now() + 15 * 1000);
    await expect(verify(token)).rejects.toBeInstanceOf(InvalidAccessToken);
  });

  it('checks every other text in full, however close to a remembered token', async () => {
    const key = await newKey();
    const keyring = await keyringOf(key);
    const verify = cachedAccessTokenVerifier(keyring, settings);
    const genuine = await issueAccessToken(keyring, settings, principal, { id: 'grant-7', issuedAt: new Date() });
    expect(await verify(genuine)).toEqual(principal);
    const claims = { sub: principal.userId, tid: principal.tenantId, role: principal.role, sid: principal.sessionId, typ: 'access', iss: 'rampart', aud: 'rampart-api' };
    for (const [name, token] of await forgedTokens(key, claims, genuine)) {
      await expect(verify(token), name).rejects.toBeInstanceOf(InvalidAccessToken);
    }
  });

  it('forgets the oldest token when full, and still verifies it afresh', async () => {
    const keyring = await keyringOf(await newKey());
    const verify = cachedAccessTokenVerifier(keyring, settings, 2);
    const tokens = await Promise.all(['a', 'b', 'c'].map((id) => issueAccessToken(keyring, settings, principal, { id, issuedAt: new Date() })));
    for (const token of tokens) expect(await verify(token)).toEqual(principal);
    expect(await verify(tokens[0]!)).toEqual(principal);
  });
});
