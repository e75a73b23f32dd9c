import type { Db } from './store.js';

export async function insertPasswordReset(db: Db, row: { tokenHash: string; userId: string; expiresAt: Date }): Promise<void> {
  await db.insertInto('password_resets').values({ token_hash: row.tokenHash, user_id: row.userId, expires_at: row.expiresAt, used_at: null }).execute();
}

/** The reset and its user, locked until the transaction ends so two uses of one token serialise. */
export function lockPasswordReset(trx: Db, tokenHash: string) {
  return trx
    .selectFrom('password_resets as r')
    .innerJoin('users as u', 'u.id', 'r.user_id')
    .select(['r.id', 'r.expires_at', 'r.used_at', 'u.id as user_id', 'u.tenant_id', 'u.disabled'])
    .where('r.token_hash', '=', tokenHash)
    .forUpdate('r')
    .executeTakeFirst();
}

/** Burns every pending reset of the user: the one just used, and any older mail still lying around. */
export async function burnPasswordResets(trx: Db, userId: string, at: Date): Promise<void> {
  await trx.updateTable('password_resets').set({ used_at: at }).where('user_id', '=', userId).where('used_at', 'is', null).execute();
}
