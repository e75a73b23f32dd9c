import Fastify, { type FastifyInstance } from 'fastify';
import { describe, expect, it, vi } from 'vitest';
import { problemDetails } from '../../platform/http/problem.js';
import type { Principal } from './access-tokens.js';
import { databaseTargets, freshDatabasePerTest } from '../../../test/support/databases.js';
import { testIdentity } from '../../../test/support/identity.js';
import { createApiKeyAuthenticator, requireScope, type ApiKeyAuthenticator } from './api-key-auth.js';
import { createApiKey } from './api-keys-create.js';
import { markApiKeysUsed, revokeTenantApiKey } from './api-keys-store.js';
import { authenticate } from './authenticate.js';
import type { Identity } from './identity.js';
import { createLastUsedBatcher, type LastUsedBatcher } from './last-used-batcher.js';
import { generateApiKey } from './primitives/api-key-format.js';
import { signUp } from './signup.js';

const context = { ip: '203.0.113.9', userAgent: 'vitest', correlationId: 'corr-api-key-test' };

/** A tiny app: one route any caller may use, one needing `contact:write`. */
async function appWith(identity: Identity, apiKeys: ApiKeyAuthenticator): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(problemDetails);
  await app.register(async (scope) => {
    await scope.register(authenticate, { keyring: identity.keyring, tokens: identity.tokens, revocations: identity.revocations, apiKeys });
    scope.get('/caller', async (request) => ({ apiKey: request.apiKey, principal: request.principal }));
    scope.post('/contacts', { preHandler: requireScope('contact:write') }, async () => ({ created: true }));
  });
  return app;
}

describe.each(databaseTargets())('API key authentication ($name)', (factory) => {
  const fresh = freshDatabasePerTest(factory);

  async function setUp() {
    const identity = await testIdentity(fresh.handle);
    const user = await signUp(identity, 'keys@example.com', 'a sufficiently long passphrase', context);
    const principal: Principal = { userId: user.id, tenantId: user.tenant_id, role: 'admin', sessionId: '00000000-0000-4000-8000-000000000000' };
    const touched: string[] = [];
    const lastUsed: LastUsedBatcher = { touch: (id) => touched.push(id), flush: async () => undefined, close: async () => undefined };
    const apiKeys = createApiKeyAuthenticator(identity.db, identity.apiKeys, lastUsed);
    const app = await appWith(identity, apiKeys);
    const mint = (scopes: string[], expiresAt: Date | null = null) => createApiKey(identity, principal, { name: 'ci', scopes, expiresAt }, context);
    return { identity, principal, apiKeys, app, mint, touched };
  }

  it('sets request.apiKey (never request.principal) for a live key, and records its use in memory', async () => {
    const { app, mint, principal, touched } = await setUp();
    const { id, key } = await mint(['contact:read']);
    const res = await app.inject({ url: '/caller', headers: { 'x-api-key': key } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ apiKey: { kind: 'api_key', keyId: id, tenantId: principal.tenantId, scopes: ['contact:read'] }, principal: null });
    expect(touched).toEqual([id]);
  });

  it('lets a route declare the scope a key needs: 403 insufficient-scope without it', async () => {
    const { app, mint } = await setUp();
    const reader = await mint(['contact:read']);
    const writer = await mint(['contact:read', 'contact:write']);
    const refused = await app.inject({ method: 'POST', url: '/contacts', headers: { 'x-api-key': reader.key } });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ type: '/problems/insufficient-scope' });
    expect((await app.inject({ method: 'POST', url: '/contacts', headers: { 'x-api-key': writer.key } })).statusCode).toBe(200);
  });

  it('refuses a malformed key before any database lookup', async () => {
    const { identity, app, mint } = await setUp();
    const { key } = await mint(['contact:read']);
    const select = vi.spyOn(identity.db, 'selectFrom');
    const lastChar = key.at(-1) === 'A' ? 'B' : 'A';
    for (const bad of [`${key.slice(0, -1)}${lastChar}`, "rk_test_' or 1=1 --", 'x'.repeat(10_000), key.replace('rk_test_', 'rk_live_')]) {
      const res = await app.inject({ url: '/caller', headers: { 'x-api-key': bad } });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ type: '/problems/invalid-api-key' });
    }
    expect(select).not.toHaveBeenCalled();
  });

  it('refuses an unknown, expired or revoked key with the same 401', async () => {
    const { identity, app, mint, principal, apiKeys } = await setUp();
    const unknown = generateApiKey('test', identity.apiKeys.peppers.current()).key;
    const expiring = await mint(['contact:read'], new Date(Date.now() + 300));
    const revoked = await mint(['contact:read']);
    await revokeTenantApiKey(identity.db, { id: revoked.id, tenantId: principal.tenantId, now: new Date() });
    apiKeys.forget(revoked.id);
    expect((await app.inject({ url: '/caller', headers: { 'x-api-key': expiring.key } })).statusCode).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 400));
    for (const key of [unknown, expiring.key, revoked.key]) {
      const res = await app.inject({ url: '/caller', headers: { 'x-api-key': key } });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ type: '/problems/invalid-api-key' });
    }
  });

  it('caches a lookup for at most a second: a revocation made elsewhere takes effect within it', async () => {
    const { identity, app, mint, principal } = await setUp();
    const { id, key } = await mint(['contact:read']);
    expect((await app.inject({ url: '/caller', headers: { 'x-api-key': key } })).statusCode).toBe(200);
    // Another instance revokes it: this one's cache is not told.
    await revokeTenantApiKey(identity.db, { id, tenantId: principal.tenantId, now: new Date() });
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    expect((await app.inject({ url: '/caller', headers: { 'x-api-key': key } })).statusCode).toBe(401);
  });

  it('keeps Bearer-only scopes Bearer-only: a key is not a credential there', async () => {
    const { identity, mint } = await setUp();
    const { key } = await mint(['contact:read']);
    const app = Fastify();
    await app.register(problemDetails);
    await app.register(async (scope) => {
      await scope.register(authenticate, { keyring: identity.keyring, tokens: identity.tokens, revocations: identity.revocations });
      scope.get('/me', async () => ({ ok: true }));
    });
    const res = await app.inject({ url: '/me', headers: { 'x-api-key': key } });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ type: '/problems/invalid-token' });
  });

  it('writes last_used_at in batches', async () => {
    const { identity, mint } = await setUp();
    const { id, key } = await mint(['contact:read']);
    const batcher = createLastUsedBatcher({ intervalMs: 60_000, write: (ids, at) => markApiKeysUsed(identity.db, ids, at), onError: () => undefined });
    const app = await appWith(identity, createApiKeyAuthenticator(identity.db, identity.apiKeys, batcher));
    for (let i = 0; i < 5; i++) await app.inject({ url: '/caller', headers: { 'x-api-key': key } });
    const lastUsed = () => identity.db.selectFrom('api_keys').select('last_used_at').where('id', '=', id).executeTakeFirstOrThrow();
    expect((await lastUsed()).last_used_at).toBeNull();
    await batcher.close();
    expect((await lastUsed()).last_used_at).toBeInstanceOf(Date);
  });
});
