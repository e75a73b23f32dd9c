import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, flattenedVerify, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJwksSource, IdentityProviderUnavailable } from './oidc-jwks.js';

/** A JWKS endpoint that answers 500 while `failing`, and counts every fetch. */
class FlakyJwks {
  failing = false;
  fetches = 0;
  private server!: Server;
  constructor(private readonly keys: JWK[]) {}
  async start() {
    this.server = createServer((_req, res) => {
      this.fetches++;
      if (this.failing) res.writeHead(500).end('upstream broken');
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: this.keys }));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }
  get url() {
    return new URL(`http://127.0.0.1:${(this.server.address() as AddressInfo).port}/certs`);
  }
  stop() {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(resolve));
  }
}

describe('the OIDC provider\'s JWKS while its endpoint fails', () => {
  let jwks: FlakyJwks;
  let token: string;
  let otherKidToken: string;
  beforeAll(async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    jwks = new FlakyJwks([{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }]);
    await jwks.start();
    token = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(privateKey);
    otherKidToken = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k2' }).sign(privateKey);
  });
  afterAll(() => jwks.stop());

  const partsOf = (jwt: string) => {
    const [protectedHeader, payload, signature] = jwt.split('.') as [string, string, string];
    return { header: JSON.parse(Buffer.from(protectedHeader, 'base64url').toString()) as { alg: string; kid: string }, flattened: { protected: protectedHeader, payload, signature } };
  };
  const verifyWith = async (resolve: ReturnType<typeof createJwksSource>, jwt: string) => {
    const { header, flattened } = partsOf(jwt);
    return flattenedVerify(flattened, await resolve(header, flattened));
  };

  it('fetches once per backoff step while the endpoint fails, not once per request, then recovers by itself', async () => {
    jwks.failing = true;
    jwks.fetches = 0;
    let clock = 1_000_000;
    const source = createJwksSource({ url: jwks.url, cacheMaxAgeMs: 60_000, backoffBaseMs: 1_000, backoffMaxMs: 8_000, now: () => clock, random: () => 1 });
    // 50 requests at one instant: one fetch between them, all refused as a dependency failure.
    const burst = await Promise.allSettled(Array.from({ length: 50 }, () => verifyWith(source, token)));
    expect(burst.every((r) => r.status === 'rejected' && r.reason instanceof IdentityProviderUnavailable)).toBe(true);
    expect(jwks.fetches).toBe(1);
    // Waits double (1, 2, 4, 8 s) up to the cap; a request inside a wait fetches nothing.
    const waits: number[] = [];
    for (let step = 0; step < 6; step++) {
      const before = jwks.fetches;
      let waited = 0;
      while (jwks.fetches === before) {
        clock += 250;
        waited += 250;
        await verifyWith(source, token).catch(() => undefined);
      }
      waits.push(waited);
    }
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);

    jwks.failing = false;
    clock += 8_000;
    await expect(verifyWith(source, token)).resolves.toBeDefined();
    const fetched = jwks.fetches;
    for (let i = 0; i < 20; i++) await verifyWith(source, token);
    expect(jwks.fetches).toBe(fetched);
  });

  it('keeps verifying with the cached keys while the endpoint fails after they went stale', async () => {
    jwks.failing = false;
    jwks.fetches = 0;
    let clock = 5_000_000;
    const source = createJwksSource({ url: jwks.url, cacheMaxAgeMs: 1_000, backoffBaseMs: 1_000, backoffMaxMs: 60_000, now: () => clock, random: () => 0.5 });
    await verifyWith(source, token);
    expect(jwks.fetches).toBe(1);
    jwks.failing = true;
    clock += 1_500;
    for (let i = 0; i < 30; i++) await expect(verifyWith(source, token)).resolves.toBeDefined();
    expect(jwks.fetches).toBe(2);
    // An unknown kid neither fetches during the wait nor turns into a dependency failure.
    await expect(verifyWith(source, otherKidToken)).rejects.toThrow(/no applicable key/i);
    expect(jwks.fetches).toBe(2);
  });

  it('gives a never-fetched set no keys and a 200 that is not a JWKS no trust', async () => {
    const garbage = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"not":"a jwks"}'));
    await new Promise<void>((resolve) => garbage.listen(0, '127.0.0.1', resolve));
    try {
      const source = createJwksSource({ url: new URL(`http://127.0.0.1:${(garbage.address() as AddressInfo).port}/`), cacheMaxAgeMs: 1_000 });
      await expect(verifyWith(source, token)).rejects.toBeInstanceOf(IdentityProviderUnavailable);
    } finally {
      await new Promise((resolve) => garbage.close(resolve));
    }
  });
});
