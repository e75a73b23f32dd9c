import { randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { databaseTargets, freshDatabasePerTest } from '../../../test/support/databases.js';
import { testIdentity } from '../../../test/support/identity.js';
import { createCache, type Cache } from '../../platform/cache/cache-aside.js';
import type { Principal } from './access-tokens.js';
import { createApiKeyAuthenticator } from './api-key-auth.js';
import { createApiKey } from './api-keys-create.js';
import { revokeApiKey } from './api-keys-revoke.js';
import type { LastUsedBatcher } from './last-used-batcher.js';
import { logIn } from './login.js';
import { createSessionRevocations, type SessionRevocations } from './session-revocations.js';
import { signUp } from './signup.js';
import { revokeSessions } from './store.js';
import { cachedUserView, forgetUser } from './user-cache.js';

const redisUrl = process.env.TEST_REDIS_URL;
if (!redisUrl && process.env.CI === 'true') throw new Error('TEST_REDIS_URL is required in CI');

const context = { ip: '203.0.113.7', userAgent: 'vitest', correlationId: 'corr-shared-state' };
const quiet = { warn: () => {} };
const idle: LastUsedBatcher = { touch: () => {}, flush: async () => undefined, close: async () => undefined };

describe.runIf(redisUrl).each(databaseTargets())('auth state shared by two instances through Redis ($name)', (factory) => {
  const fresh = freshDatabasePerTest(factory);
  const clients: Redis[] = [];
  const closers: Array<() => Promise<void>> = [];

  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
    for (const client of clients.splice(0)) client.disconnect();
  });

  const prefix = () => `rampart-test:${randomBytes(6).toString('hex')}:`;

  const connection = async () => {
    const client = new Redis(redisUrl!, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 200 });
    client.on('error', () => {});
    clients.push(client);
    if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
    return client;
  };

  /** Two instances' caches; local copies kept a minute, so only an invalidation can end them. */
  const twoCaches = async (): Promise<[Cache, Cache]> => {
    const shared = prefix();
    const caches = [createCache({ redis: await connection(), prefix: shared, logger: quiet, localTtlMs: 60_000 }), createCache({ redis: await connection(), prefix: shared, logger: quiet, localTtlMs: 60_000 })] as [Cache, Cache];
    for (const cache of caches) closers.push(() => cache.close());
    await subscribed(`${shared}invalidate`, 2);
    return caches;
  };

  const subscribed = async (channel: string, count: number) => {
    const admin = await connection();
    await vi.waitFor(async () => expect(((await admin.pubsub('NUMSUB', channel)) as [string, number])[1]).toBe(count), { timeout: 3_000, interval: 20 });
  };

  it('a session revoked on one instance is refused on the other at once, not after its cache TTL', async () => {
    const identity = await testIdentity(fresh.handle);
    const user = await signUp(identity, 'two-devices@example.com', 'several words long enough', context);
    await logIn(identity, 'two-devices@example.com', 'several words long enough', context);
    const { id: sessionId } = await fresh.handle.db.selectFrom('sessions').select('id').executeTakeFirstOrThrow();
    const shared = { prefix: prefix(), logger: quiet };
    const [a, b]: SessionRevocations[] = [
      createSessionRevocations(fresh.handle.db, 60_000, { ...shared, redis: await connection() }),
      createSessionRevocations(fresh.handle.db, 60_000, { ...shared, redis: await connection() }),
    ];
    closers.push(() => a!.close!(), () => b!.close!());
    await subscribed(`${shared.prefix}session-revoked`, 2);
    expect(await b!.isRevoked(sessionId)).toBe(false);

    await revokeSessions(fresh.handle.db, user.id, { only: sessionId });
    a!.markRevoked(sessionId);

    await vi.waitFor(async () => expect(await b!.isRevoked(sessionId)).toBe(true), { timeout: 1_000, interval: 10 });
  });

  it('an API key revoked on one instance is refused on the other at once', async () => {
    const identity = await testIdentity(fresh.handle);
    const user = await signUp(identity, 'keys@example.com', 'a sufficiently long passphrase', context);
    const principal: Principal = { userId: user.id, tenantId: user.tenant_id, role: 'admin', sessionId: '00000000-0000-4000-8000-000000000000' };
    const { id, key } = await createApiKey(identity, principal, { name: 'ci', scopes: ['contact:read'], expiresAt: null }, context);
    const [cacheA, cacheB] = await twoCaches();
    const a = createApiKeyAuthenticator(identity.db, identity.apiKeys, idle, cacheA);
    const b = createApiKeyAuthenticator(identity.db, identity.apiKeys, idle, cacheB);
    const request = { headers: { 'x-api-key': key }, log: { info: () => {} } } as unknown as FastifyRequest;
    expect((await b.authenticate(request)).keyId).toBe(id);
    expect((await a.authenticate(request)).keyId).toBe(id);

    await revokeApiKey(identity, a, principal, id, context);

    await expect(a.authenticate(request)).rejects.toMatchObject({ status: 401 });
    await vi.waitFor(() => expect(b.authenticate(request)).rejects.toMatchObject({ status: 401 }), { timeout: 1_000, interval: 10 });
  });

  it('a changed user is seen by /v1/me on the other instance at once', async () => {
    const identity = await testIdentity(fresh.handle);
    const user = await signUp(identity, 'roles@example.com', 'a sufficiently long passphrase', context);
    const [cacheA, cacheB] = await twoCaches();
    const a = { db: identity.db, cache: cacheA, emails: identity.emails };
    const b = { db: identity.db, cache: cacheB, emails: identity.emails };
    const before = await cachedUserView(b, user.id);

    await identity.db.updateTable('users').set({ role: before!.role === 'viewer' ? 'member' : 'viewer' }).where('id', '=', user.id).execute();
    expect(await cachedUserView(b, user.id)).toEqual(before);
    await forgetUser(a, user.id);

    await vi.waitFor(async () => expect((await cachedUserView(b, user.id))!.role).not.toBe(before!.role), { timeout: 1_000, interval: 10 });
  });
});
