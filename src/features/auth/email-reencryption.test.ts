import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { databaseTargets, freshDatabasePerTest } from '../../../test/support/databases.js';
import { testIdentity } from '../../../test/support/identity.js';
import { createFieldKeyring } from '../../platform/crypto/field-keyring.js';
import { fieldKeyId } from '../../platform/crypto/field-encryption.js';
import { migrateDown, migrateTo } from '../../platform/db/migrations.js';
import { createEmailProtection } from './email-protection.js';
import { reencryptEmails } from './email-reencryption.js';
import { signUp } from './signup.js';
import { findUserByEmail } from './store.js';

const context = { ip: '127.0.0.1', userAgent: null, correlationId: 'test' };
const entry = (kid: string) => `${kid}:${randomBytes(32).toString('base64url')}`;
const APP_SECRET = 'an-app-secret-of-at-least-32-characters';

describe.each(databaseTargets())('encrypted email addresses on $name', (factory) => {
  const fresh = freshDatabasePerTest(factory);

  it('stores sign-ups encrypted under the current key with a lookup hash, never in clear', async () => {
    const identity = await testIdentity(fresh.handle);
    const user = await signUp(identity, 'Ada@Example.com', 'a sufficiently long passphrase', context);
    const row = await fresh.handle.db.selectFrom('users').selectAll().where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(row.email).toBeNull();
    expect(row.email_encrypted).toMatch(/^fe1\./);
    expect(row.email_encrypted).not.toContain('Ada');
    expect(user.email).toBe('Ada@Example.com');
    expect((await findUserByEmail(fresh.handle.db, identity.emails, 'ada@example.COM'))?.id).toBe(user.id);
    const tenant = await fresh.handle.db.selectFrom('tenants').select('name').where('id', '=', user.tenant_id).executeTakeFirstOrThrow();
    expect(tenant.name).toBe('Example.com');
  });

  it('after a key rotation, new rows use the new key id, old rows still open, and the job moves them in batches', async () => {
    const identity = await testIdentity(fresh.handle);
    const old = entry('k1');
    const keyring = createFieldKeyring(old);
    const emails = createEmailProtection(keyring, APP_SECRET);
    const db = fresh.handle.db;
    const withKeys = { ...identity, emails };
    const before = await signUp(withKeys, 'before@example.com', 'a sufficiently long passphrase', context);
    // A row from before migration 0008: plaintext only.
    const tenant = await db.insertInto('tenants').values({ name: 'legacy' }).returning('id').executeTakeFirstOrThrow();
    await db.insertInto('users').values({ tenant_id: tenant.id, email: 'Legacy@Example.com', password_hash: 'x', role: 'admin' }).execute();

    keyring.replace(`${entry('k2')},${old}`);
    const after = await signUp(withKeys, 'after@example.com', 'a sufficiently long passphrase', context);
    const kids = async () => Object.fromEntries((await db.selectFrom('users').select(['id', 'email', 'email_encrypted']).execute()).map((r) => [r.id, r.email_encrypted ? fieldKeyId(r.email_encrypted) : 'plaintext']));
    expect((await kids())[after.id]).toBe('k2');
    expect((await kids())[before.id]).toBe('k1');
    expect((await findUserByEmail(db, emails, 'before@example.com'))?.email).toBe('before@example.com');
    expect((await findUserByEmail(db, emails, 'legacy@example.com'))?.email).toBe('Legacy@Example.com');

    expect(await reencryptEmails(db, emails)).toBe(2);
    expect(new Set(Object.values(await kids()))).toEqual(new Set(['k2']));
    expect(await db.selectFrom('users').select('id').where('email', 'is not', null).execute()).toEqual([]);
    expect(await reencryptEmails(db, emails)).toBe(0);
    // A leader that has not refreshed yet (it knows only k1) leaves rows under k2 alone, and does not fail.
    const stale = createEmailProtection(createFieldKeyring(old), APP_SECRET);
    expect(await reencryptEmails(db, stale)).toBe(0);
    expect(new Set(Object.values(await kids()))).toEqual(new Set(['k2']));
    // The old key can go now: everything opens with k2 alone.
    keyring.replace(`${entry('k3')},${currentEntry(keyring, 'k2')}`);
    expect((await findUserByEmail(db, emails, 'legacy@example.com'))?.email).toBe('Legacy@Example.com');
    expect((await findUserByEmail(db, emails, 'before@example.com'))?.email).toBe('before@example.com');
  });

  it('migration 0008 reverts while no address exists only encrypted, and refuses (changing nothing) once one does', async () => {
    // Later migrations stay out of it: 0008 is the newest here.
    await migrateTo(fresh.handle, '0008_encrypted_email');
    const db = fresh.handle.db;
    const tenant = await db.insertInto('tenants').values({ name: 't' }).returning('id').executeTakeFirstOrThrow();
    await db.insertInto('users').values({ tenant_id: tenant.id, email: 'plain@example.com', password_hash: 'x', role: 'admin' }).execute();
    expect(await migrateDown(fresh.handle)).toEqual({ applied: [], reverted: ['0008_encrypted_email'] });
    const { rows } = await sql<{ column_name: string }>`select column_name from information_schema.columns where table_name = 'users' and column_name like 'email%'`.execute(db);
    expect(rows.map((r) => r.column_name)).toEqual(['email']);

    await migrateTo(fresh.handle, '0008_encrypted_email');
    const emails = createEmailProtection(createFieldKeyring(entry('k1')), APP_SECRET);
    await reencryptEmails(db, emails);
    await expect(migrateDown(fresh.handle)).rejects.toThrow(/encrypted email addresses that SQL cannot decrypt/);
    const still = await db.selectFrom('users').select(['email', 'email_encrypted']).executeTakeFirstOrThrow();
    expect(still.email).toBeNull();
    expect(emails.open({ id: (await db.selectFrom('users').select('id').executeTakeFirstOrThrow()).id, ...still })).toBe('plain@example.com');
  });
});

function currentEntry(keyring: ReturnType<typeof createFieldKeyring>, kid: string): string {
  return `${kid}:${keyring.key(kid)!.toString('base64url')}`;
}
