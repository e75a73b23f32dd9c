import { describe, expect, it } from 'vitest';
import { databaseTargets, freshDatabasePerTest } from '../../../test/support/databases.js';
import { testIdentity } from '../../../test/support/identity.js';
import { logIn } from './login.js';
import { createSessionRevocations } from './session-revocations.js';
import { signUp } from './signup.js';
import { revokeSessions } from './store.js';

const context = { ip: '192.0.2.1', userAgent: null, correlationId: 'corr-revocations' };

describe.each(databaseTargets())('session revocation checks ($name)', (factory) => {
  const fresh = freshDatabasePerTest(factory);

  async function liveSession() {
    const identity = await testIdentity(fresh.handle);
    const user = await signUp(identity, 'devices@example.com', 'several words long enough', context);
    await logIn(identity, 'devices@example.com', 'several words long enough', context);
    const session = await fresh.handle.db.selectFrom('sessions').select('id').executeTakeFirstOrThrow();
    return { userId: user.id, sessionId: session.id };
  }

  it('sees a revocation made by another instance once its cached answer is older than the TTL', async () => {
    const { userId, sessionId } = await liveSession();
    const revocations = createSessionRevocations(fresh.handle.db, 200);
    expect(await revocations.isRevoked(sessionId)).toBe(false);

    await revokeSessions(fresh.handle.db, userId, { only: sessionId });
    expect(await revocations.isRevoked(sessionId)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await revocations.isRevoked(sessionId)).toBe(true);
  });

  it('refuses a session revoked on this instance at once', async () => {
    const { sessionId } = await liveSession();
    const revocations = createSessionRevocations(fresh.handle.db);
    expect(await revocations.isRevoked(sessionId)).toBe(false);
    revocations.markRevoked(sessionId);
    expect(await revocations.isRevoked(sessionId)).toBe(true);
  });

  it('treats an unknown session and a disabled user as revoked', async () => {
    const { userId, sessionId } = await liveSession();
    const revocations = createSessionRevocations(fresh.handle.db, 0);
    expect(await revocations.isRevoked('00000000-0000-4000-8000-000000000000')).toBe(true);
    await fresh.handle.db.updateTable('users').set({ disabled: true }).where('id', '=', userId).execute();
    expect(await revocations.isRevoked(sessionId)).toBe(true);
  });
});
