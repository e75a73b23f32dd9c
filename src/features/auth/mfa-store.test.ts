import { describe, expect, it } from 'vitest';
import { databaseTargets, freshDatabasePerTest } from '../../../test/support/databases.js';
import { testIdentity } from '../../../test/support/identity.js';
import { deleteTotp, findTotp, insertMfaChallenge, isTotpActive, listBackupCodes, recordTotpStep, replaceBackupCodes, savePendingTotp, spendBackupCode } from './mfa-store.js';
import { createTotpSecret } from './primitives/totp.js';
import { openTotpSecret, sealTotpSecret } from './second-factor.js';
import { signUp } from './signup.js';

const context = { ip: '198.51.100.7', userAgent: 'vitest', correlationId: 'corr-mfa-store' };

describe.each(databaseTargets())('MFA store ($name)', (factory) => {
  const fresh = freshDatabasePerTest(factory);

  async function aUser() {
    const identity = await testIdentity(fresh.handle);
    const user = await signUp(identity, 'mfa-store@example.com', 'several words long enough', context);
    return { identity, db: fresh.handle.db, userId: user.id };
  }

  it('stores the TOTP secret encrypted, bound to its user', async () => {
    const { identity, db, userId } = await aUser();
    const secret = createTotpSecret();
    await savePendingTotp(db, userId, sealTotpSecret(secret, userId, identity.totpKey));

    const row = (await findTotp(db, userId))!;
    expect(row.secret_encrypted).not.toContain(secret);
    expect(openTotpSecret(row, identity.totpKey)).toBe(secret);
    expect(() => openTotpSecret({ ...row, user_id: '00000000-0000-4000-8000-000000000000' }, identity.totpKey)).toThrow();
  });

  it('replaces a pending secret on re-enrolment but never an active one', async () => {
    const { db, userId } = await aUser();
    expect(await savePendingTotp(db, userId, 'first')).toBe(true);
    expect(await savePendingTotp(db, userId, 'second')).toBe(true);
    expect((await findTotp(db, userId))?.secret_encrypted).toBe('second');
    expect(await isTotpActive(db, userId)).toBe(false);

    await recordTotpStep(db, userId, 1000, true);
    expect(await isTotpActive(db, userId)).toBe(true);
    expect(await savePendingTotp(db, userId, 'third')).toBe(false);
    expect(await findTotp(db, userId)).toMatchObject({ secret_encrypted: 'second', last_accepted_step: 1000 });
  });

  it('spends a backup code once, and regenerating kills every earlier code', async () => {
    const { db, userId } = await aUser();
    await replaceBackupCodes(db, userId, ['a'.repeat(64), 'b'.repeat(64)]);
    const [first] = await listBackupCodes(db, userId);
    expect(await spendBackupCode(db, first!.id)).toBe(true);
    expect(await spendBackupCode(db, first!.id)).toBe(false);

    await replaceBackupCodes(db, userId, ['c'.repeat(64)]);
    expect((await listBackupCodes(db, userId)).map((c) => c.code_hash)).toEqual(['c'.repeat(64)]);
  });

  it('disabling removes the authenticator, its backup codes and open challenges', async () => {
    const { db, userId } = await aUser();
    await savePendingTotp(db, userId, 'sealed');
    await recordTotpStep(db, userId, 1, true);
    await replaceBackupCodes(db, userId, ['d'.repeat(64)]);
    await insertMfaChallenge(db, { tokenHash: 'e'.repeat(64), userId, expiresAt: new Date(Date.now() + 60_000) });

    await deleteTotp(db, userId);
    expect(await findTotp(db, userId)).toBeUndefined();
    expect(await listBackupCodes(db, userId)).toEqual([]);
    expect(await db.selectFrom('mfa_challenges').select('id').where('user_id', '=', userId).execute()).toEqual([]);
  });
});
