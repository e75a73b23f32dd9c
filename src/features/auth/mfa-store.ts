import type { Selectable } from 'kysely';
import type { Tables } from '../../platform/db/tables.js';
import type { Db } from './store.js';

export type TotpRow = Selectable<Tables['mfa_totp']>;

/** Starts (or restarts) an enrolment: a pending secret replaces any earlier pending one, never an active one. */
export async function savePendingTotp(db: Db, userId: string, secretEncrypted: string): Promise<boolean> {
  const row = await db
    .insertInto('mfa_totp')
    .values({ user_id: userId, secret_encrypted: secretEncrypted, activated_at: null, last_accepted_step: null })
    .onConflict((conflict) =>
      conflict.column('user_id').doUpdateSet({ secret_encrypted: secretEncrypted, created_at: new Date(), last_accepted_step: null }).where('mfa_totp.activated_at', 'is', null),
    )
    .returning('user_id')
    .executeTakeFirst();
  return row !== undefined;
}

export function findTotp(db: Db, userId: string): Promise<TotpRow | undefined> {
  return db.selectFrom('mfa_totp').selectAll().where('user_id', '=', userId).executeTakeFirst();
}

/** The user's authenticator, locked until the transaction ends: two codes checked at once serialise, so a code works once. */
export function lockTotp(trx: Db, userId: string): Promise<TotpRow | undefined> {
  return trx.selectFrom('mfa_totp').selectAll().where('user_id', '=', userId).forUpdate().executeTakeFirst();
}

export async function isTotpActive(db: Db, userId: string): Promise<boolean> {
  const row = await db.selectFrom('mfa_totp').select('user_id').where('user_id', '=', userId).where('activated_at', 'is not', null).executeTakeFirst();
  return row !== undefined;
}

export async function recordTotpStep(trx: Db, userId: string, step: number, activate = false): Promise<void> {
  await trx
    .updateTable('mfa_totp')
    .set(activate ? { last_accepted_step: step, activated_at: new Date() } : { last_accepted_step: step })
    .where('user_id', '=', userId)
    .execute();
}

/** MFA off: the authenticator, its backup codes and open challenges go. */
export async function deleteTotp(trx: Db, userId: string): Promise<void> {
  await trx.deleteFrom('mfa_backup_codes').where('user_id', '=', userId).execute();
  await trx.deleteFrom('mfa_challenges').where('user_id', '=', userId).execute();
  await trx.deleteFrom('mfa_totp').where('user_id', '=', userId).execute();
}

/** Every earlier code stops working. */
export async function replaceBackupCodes(trx: Db, userId: string, codeHashes: readonly string[]): Promise<void> {
  await trx.deleteFrom('mfa_backup_codes').where('user_id', '=', userId).execute();
  if (codeHashes.length > 0) {
    await trx.insertInto('mfa_backup_codes').values(codeHashes.map((code_hash) => ({ user_id: userId, code_hash }))).execute();
  }
}

export function listBackupCodes(db: Db, userId: string): Promise<Array<{ id: string; code_hash: string }>> {
  return db.selectFrom('mfa_backup_codes').select(['id', 'code_hash']).where('user_id', '=', userId).orderBy('id').execute();
}

/** Spends a backup code; false if another request spent it first. */
export async function spendBackupCode(trx: Db, id: string): Promise<boolean> {
  const result = await trx.deleteFrom('mfa_backup_codes').where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

export async function insertMfaChallenge(db: Db, row: { tokenHash: string; userId: string; expiresAt: Date }): Promise<void> {
  await db.insertInto('mfa_challenges').values({ token_hash: row.tokenHash, user_id: row.userId, expires_at: row.expiresAt, used_at: null }).execute();
}

/** The challenge and its user, locked until the transaction ends. */
export function lockMfaChallenge(trx: Db, tokenHash: string) {
  return trx
    .selectFrom('mfa_challenges as c')
    .innerJoin('users as u', 'u.id', 'c.user_id')
    .select(['c.id', 'c.expires_at', 'c.failed_attempts', 'c.used_at', 'u.id as user_id', 'u.tenant_id', 'u.role', 'u.disabled'])
    .where('c.token_hash', '=', tokenHash)
    .forUpdate('c')
    .executeTakeFirst();
}

export async function closeMfaChallenge(trx: Db, id: string, at: Date): Promise<void> {
  await trx.updateTable('mfa_challenges').set({ used_at: at }).where('id', '=', id).execute();
}

/** Counts a wrong code; returns the new count. */
export async function countFailedMfaAttempt(trx: Db, id: string): Promise<number> {
  const row = await trx
    .updateTable('mfa_challenges')
    .set((eb) => ({ failed_attempts: eb('failed_attempts', '+', 1) }))
    .where('id', '=', id)
    .returning('failed_attempts')
    .executeTakeFirstOrThrow();
  return row.failed_attempts;
}
