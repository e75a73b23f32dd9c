import { describe, expect, it } from 'vitest';
import { HttpProblem } from '../../platform/http/problem.js';
import { databaseTargets, freshDatabasePerTest } from '../../../test/support/databases.js';
import { testIdentity } from '../../../test/support/identity.js';
import type { Principal } from './access-tokens.js';
import { createApiKeyAuthenticator } from './api-key-auth.js';
import { createApiKey } from './api-keys-create.js';
import { revokeApiKey } from './api-keys-revoke.js';
import { rotateApiKey } from './api-keys-rotate.js';
import { listTenantApiKeys } from './api-keys-store.js';
import { signUp } from './signup.js';

const context = { ip: '203.0.113.10', userAgent: 'vitest', correlationId: 'corr-rotate-test' };
const noSession = '00000000-0000-4000-8000-000000000000';
const idle = { touch: () => undefined, flush: async () => undefined, close: async () => undefined };

describe.each(databaseTargets())('API key rotation and revocation ($name)', (factory) => {
  const fresh = freshDatabasePerTest(factory);

  async function setUp(overlapS: number) {
    const identity = await testIdentity(fresh.handle, { apiKeyRotationOverlapS: overlapS });
    const admin = async (email: string): Promise<Principal> => {
      const user = await signUp(identity, email, 'a sufficiently long passphrase', context);
      return { userId: user.id, tenantId: user.tenant_id, role: 'admin', sessionId: noSession };
    };
    const auth = createApiKeyAuthenticator(identity.db, identity.apiKeys, idle);
    // authenticate() only reads the header and the request logger.
    const present = (key: string) => auth.authenticate({ headers: { 'x-api-key': key }, log: { info: () => undefined } } as never);
    return { identity, auth, admin, present };
  }

  const notFound = (promise: Promise<unknown>) => expect(promise).rejects.toSatisfy((e) => e instanceof HttpProblem && e.status === 404 && e.slug === 'api-key-not-found');

  it('with no overlap, the old key dies at once and the new one keeps the id, name and scopes', async () => {
    const { identity, auth, admin, present } = await setUp(0);
    const ann = await admin('ann@example.com');
    const first = await createApiKey(identity, ann, { name: 'deploy bot', scopes: ['contact:write'], expiresAt: null }, context);
    await present(first.key);
    const second = await rotateApiKey(identity, auth, ann, first.id, context);
    expect(second.id).toBe(first.id);
    expect(second.key).not.toBe(first.key);
    await expect(present(first.key)).rejects.toMatchObject({ status: 401, slug: 'invalid-api-key' });
    expect(await present(second.key)).toMatchObject({ keyId: first.id, scopes: ['contact:write'] });
    expect(await listTenantApiKeys(identity.db, ann.tenantId)).toEqual([expect.objectContaining({ id: first.id, name: 'deploy bot', prefix: second.prefix })]);
  });

  it('with an overlap, the old key works until it ends; a second rotation ends the first key', async () => {
    const { identity, auth, admin, present } = await setUp(60);
    const ann = await admin('ann@example.com');
    const first = await createApiKey(identity, ann, { name: 'deploy bot', scopes: ['contact:write'], expiresAt: null }, context);
    const second = await rotateApiKey(identity, auth, ann, first.id, context);
    expect(await present(first.key)).toMatchObject({ keyId: first.id });
    expect(await present(second.key)).toMatchObject({ keyId: first.id });

    const later = new Date(Date.now() + 61_000);
    const third = await rotateApiKey(identity, auth, ann, first.id, context, later);
    await expect(present(first.key)).rejects.toMatchObject({ status: 401 });
    expect(await present(second.key)).toMatchObject({ keyId: first.id });
    expect(await present(third.key)).toMatchObject({ keyId: first.id });
  });

  it('a revoked key dies at once, its overlap included, and cannot be rotated back to life', async () => {
    const { identity, auth, admin, present } = await setUp(60);
    const ann = await admin('ann@example.com');
    const first = await createApiKey(identity, ann, { name: 'ci', scopes: ['contact:read'], expiresAt: null }, context);
    const second = await rotateApiKey(identity, auth, ann, first.id, context);
    await revokeApiKey(identity, auth, ann, first.id, context);
    await expect(present(first.key)).rejects.toMatchObject({ status: 401 });
    await expect(present(second.key)).rejects.toMatchObject({ status: 401 });
    await notFound(rotateApiKey(identity, auth, ann, first.id, context));
    await notFound(revokeApiKey(identity, auth, ann, first.id, context));
  });

  it('never lets one tenant rotate, revoke or list another tenant\'s keys', async () => {
    const { identity, auth, admin, present } = await setUp(0);
    const ann = await admin('ann@example.com');
    const bob = await admin('bob@example.com');
    const annKey = await createApiKey(identity, ann, { name: 'ci', scopes: ['contact:read'], expiresAt: null }, context);
    await notFound(rotateApiKey(identity, auth, bob, annKey.id, context));
    await notFound(revokeApiKey(identity, auth, bob, annKey.id, context));
    expect(await listTenantApiKeys(identity.db, bob.tenantId)).toEqual([]);
    expect(await present(annKey.key)).toMatchObject({ tenantId: ann.tenantId });
  });

  it('refuses viewers and past expiry dates when creating', async () => {
    const { identity, admin } = await setUp(0);
    const ann = await admin('ann@example.com');
    // The role that counts is the stored one, not the token's.
    await identity.db.updateTable('users').set({ role: 'viewer' }).where('id', '=', ann.userId).execute();
    const viewer = { ...ann, role: 'viewer' as const };
    await expect(createApiKey(identity, viewer, { name: 'ci', scopes: ['contact:read'], expiresAt: null }, context)).rejects.toMatchObject({ status: 403, slug: 'insufficient-permission' });
    await identity.db.updateTable('users').set({ role: 'admin' }).where('id', '=', ann.userId).execute();
    await expect(createApiKey(identity, ann, { name: 'ci', scopes: ['contact:read'], expiresAt: new Date(Date.now() - 1000) }, context)).rejects.toMatchObject({ status: 422 });
  });

  it('audits creation, rotation and revocation without the key', async () => {
    const { identity, auth, admin } = await setUp(0);
    const ann = await admin('ann@example.com');
    const first = await createApiKey(identity, ann, { name: 'ci', scopes: ['contact:read'], expiresAt: null }, context);
    const second = await rotateApiKey(identity, auth, ann, first.id, context);
    await revokeApiKey(identity, auth, ann, first.id, context);
    const events = await identity.db.selectFrom('audit_events').selectAll().where('action', 'like', 'auth.api_key.%').orderBy('id').execute();
    expect(events.map((e) => e.action)).toEqual(['auth.api_key.created', 'auth.api_key.rotated', 'auth.api_key.revoked']);
    for (const event of events) {
      expect(event).toMatchObject({ tenant_id: ann.tenantId, actor_id: ann.userId, correlation_id: context.correlationId, details: expect.objectContaining({ api_key_id: first.id }) });
      expect(JSON.stringify(event)).not.toContain(first.key);
      expect(JSON.stringify(event)).not.toContain(second.key);
    }
  });
});
