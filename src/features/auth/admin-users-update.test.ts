import { describe, expect, it } from 'vitest';
import { HttpProblem } from '../../platform/http/problem.js';
import { databaseTargets, freshDatabasePerTest } from '../../../test/support/databases.js';
import { testIdentity } from '../../../test/support/identity.js';
import type { Principal } from './access-tokens.js';
import { createUser } from './admin-users-create.js';
import { listUsers } from './admin-users-list.js';
import { updateUser } from './admin-users-update.js';
import type { Identity, TokenPair } from './identity.js';
import { logIn } from './login.js';
import { signUp } from './signup.js';

const context = { ip: '203.0.113.11', userAgent: 'vitest', correlationId: 'corr-admin-test' };
const password = 'a sufficiently long passphrase';

describe.each(databaseTargets())('admin user management ($name)', (factory) => {
  const fresh = freshDatabasePerTest(factory);

  async function tenantOf(identity: Identity, email: string): Promise<Principal> {
    const user = await signUp(identity, email, password, context);
    return { userId: user.id, tenantId: user.tenant_id, role: 'admin', sessionId: '00000000-0000-0000-0000-000000000000' };
  }
  const problem = (status: number, slug: string) => (e: unknown) => e instanceof HttpProblem && e.status === status && e.slug === slug;

  it('pages through exactly the tenant\'s users', async () => {
    const identity = await testIdentity(fresh.handle);
    const admin = await tenantOf(identity, 'admin@one.example');
    await tenantOf(identity, 'admin@two.example');
    for (const n of [1, 2, 3]) await createUser(identity, admin, { email: `m${n}@one.example`, password, role: 'member' }, context);

    const first = await listUsers(identity, admin, { limit: 3 });
    const second = await listUsers(identity, admin, { limit: 3, cursor: first.next_cursor! });
    expect(second.next_cursor).toBeNull();
    expect([...first.users, ...second.users].map((u) => u.email).sort()).toEqual(['admin@one.example', 'm1@one.example', 'm2@one.example', 'm3@one.example']);
  });

  it('keeps one active admin per tenant, and audits role changes and disabling', async () => {
    const identity = await testIdentity(fresh.handle);
    const admin = await tenantOf(identity, 'solo@one.example');
    await expect(updateUser(identity, admin, admin.userId, { role: 'viewer' }, context)).rejects.toSatisfy(problem(409, 'last-admin'));
    await expect(updateUser(identity, admin, admin.userId, { disabled: true }, context)).rejects.toSatisfy(problem(409, 'last-admin'));

    const member = await createUser(identity, admin, { email: 'member@one.example', password, role: 'member' }, context);
    await updateUser(identity, admin, member.id, { role: 'admin' }, context);
    await updateUser(identity, admin, member.id, { disabled: true }, context);
    const actions = await identity.db.selectFrom('audit_events').select('action').where('action', 'like', 'auth.admin.%').orderBy('id').execute();
    expect(actions.map((a) => a.action)).toEqual(['auth.admin.user_created', 'auth.admin.role_changed', 'auth.admin.user_disabled']);
  });

  it('revokes the sessions of a user it disables', async () => {
    const identity = await testIdentity(fresh.handle);
    const admin = await tenantOf(identity, 'boss@one.example');
    const member = await createUser(identity, admin, { email: 'leaver@one.example', password, role: 'member' }, context);
    const pair = (await logIn(identity, 'leaver@one.example', password, context)) as TokenPair;
    const sid = JSON.parse(Buffer.from(pair.access_token.split('.')[1]!, 'base64url').toString()).sid as string;

    await updateUser(identity, admin, member.id, { disabled: true }, context);

    expect(await identity.revocations.isRevoked(sid)).toBe(true);
    const live = await identity.db.selectFrom('sessions').select('id').where('user_id', '=', member.id).where('revoked_at', 'is', null).execute();
    expect(live).toEqual([]);
  });

  it('treats another tenant\'s user as not found', async () => {
    const identity = await testIdentity(fresh.handle);
    const admin = await tenantOf(identity, 'a@one.example');
    const stranger = await tenantOf(identity, 'b@two.example');
    await expect(updateUser(identity, admin, stranger.userId, { disabled: true }, context)).rejects.toSatisfy(problem(404, 'user-not-found'));
  });
});
