import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { HttpProblem } from '../../platform/http/problem.js';
import { databaseTargets, freshDatabasePerTest } from '../../../test/support/databases.js';
import { testIdentity } from '../../../test/support/identity.js';
import { logIn } from './login.js';
import { signUp } from './signup.js';

const context = { ip: '198.51.100.4', userAgent: 'vitest', correlationId: 'corr-login-test' };
const password = 'imported from the old system';

describe.each(databaseTargets())('login ($name)', (factory) => {
  const fresh = freshDatabasePerTest(factory);
  const invalidCredentials = (promise: Promise<unknown>) =>
    expect(promise).rejects.toSatisfy((e) => e instanceof HttpProblem && e.status === 401 && e.slug === 'invalid-credentials');

  it('accepts an imported bcrypt hash once and replaces it with argon2id', async () => {
    const identity = await testIdentity(fresh.handle);
    const user = await signUp(identity, 'imported@example.com', 'a placeholder password', context);
    await fresh.handle.db.updateTable('users').set({ password_hash: await bcrypt.hash(password, 4) }).where('id', '=', user.id).execute();

    await logIn(identity, 'imported@example.com', password, context);
    const { password_hash } = await fresh.handle.db.selectFrom('users').select('password_hash').where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(password_hash).toMatch(/^\$argon2id\$/);
    expect(await logIn(identity, 'imported@example.com', password, context)).toMatchObject({ token_type: 'Bearer' });
  });

  it('gives unknown accounts, wrong passwords and disabled accounts the same refusal, each audited', async () => {
    const identity = await testIdentity(fresh.handle);
    const user = await signUp(identity, 'known@example.com', password, context);
    await invalidCredentials(logIn(identity, 'unknown@example.com', password, context));
    await invalidCredentials(logIn(identity, 'known@example.com', 'not the password at all', context));
    await fresh.handle.db.updateTable('users').set({ disabled: true }).where('id', '=', user.id).execute();
    await invalidCredentials(logIn(identity, 'known@example.com', password, context));

    const failures = await fresh.handle.db.selectFrom('audit_events').select(['details', 'correlation_id']).where('action', '=', 'auth.login.failed').orderBy('id').execute();
    expect(failures.map((f) => f.details.reason)).toEqual(['unknown-account', 'wrong-password', 'disabled']);
    expect(failures.every((f) => f.correlation_id === 'corr-login-test')).toBe(true);
  });

  it('matches the email case-insensitively and NFKC-normalises the password', async () => {
    const identity = await testIdentity(fresh.handle);
    await signUp(identity, 'Mixed.Case@Example.com', 'ｆｕｌｌ-width passphrase', context);
    expect(await logIn(identity, 'mixed.case@example.COM', 'full-width passphrase', context)).toMatchObject({ token_type: 'Bearer' });
  });
});
