import type { Selectable } from 'kysely';
import type { Tables } from '../../platform/db/tables.js';
import type { Db } from './store.js';

export type PendingSignup = Selectable<Tables['signup_verifications']>;

export async function insertPendingSignup(db: Db, row: { id: string; emailHash: string; emailEncrypted: string; passwordHash: string; expiresAt: Date }): Promise<void> {
  await db
    .insertInto('signup_verifications')
    .values({ id: row.id, email_hash: row.emailHash, email_encrypted: row.emailEncrypted, password_hash: row.passwordHash, token_hash: null, expires_at: row.expiresAt, used_at: null })
    .execute();
}

export function findPendingSignup(db: Db, id: string): Promise<PendingSignup | undefined> {
  return db.selectFrom('signup_verifications').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The mailed token's hash; a retried job replaces it, so only the last mail's token works. */
export async function setVerificationToken(db: Db, id: string, tokenHash: string): Promise<void> {
  await db.updateTable('signup_verifications').set({ token_hash: tokenHash }).where('id', '=', id).execute();
}

export async function deletePendingSignup(db: Db, id: string): Promise<void> {
  await db.deleteFrom('signup_verifications').where('id', '=', id).execute();
}

/** Uses the token up, once: the row when it was live (unused, unexpired), else nothing. */
export function claimPendingSignup(db: Db, tokenHash: string, now: Date): Promise<PendingSignup | undefined> {
  return db
    .updateTable('signup_verifications')
    .set({ used_at: now })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .returningAll()
    .executeTakeFirst();
}

/** Other sign-ups pending for an address that now has its account: their links could only fail. */
export async function dropPendingSignupsFor(db: Db, emailHash: string): Promise<void> {
  await db.deleteFrom('signup_verifications').where('email_hash', '=', emailHash).where('used_at', 'is', null).execute();
}
