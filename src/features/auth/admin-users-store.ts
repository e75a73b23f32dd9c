import { randomUUID } from 'node:crypto';
import type { Role } from '../../platform/db/tables.js';
import type { EmailProtection } from './email-protection.js';
import { emailColumns, findUserByEmail, type Db, type StoredUser, type UserRow } from './store.js';

export type TenantUser = Pick<UserRow, 'id' | 'email' | 'role' | 'disabled' | 'created_at'>;

const columns = ['id', 'email', 'email_encrypted', 'role', 'disabled', 'created_at'] as const;

type Selected = Pick<StoredUser, (typeof columns)[number]>;
const opened = (emails: EmailProtection, row: Selected): TenantUser => {
  const { email_encrypted: _encrypted, ...rest } = row;
  return { ...rest, email: emails.open(row) };
};

/** One page of a tenant's users in id order; `after` is the last id of the previous page. */
export async function listTenantUsers(db: Db, emails: EmailProtection, tenantId: string, page: { limit: number; after?: string | undefined }): Promise<TenantUser[]> {
  let query = db.selectFrom('users').select(columns).where('tenant_id', '=', tenantId);
  if (page.after !== undefined) query = query.where('id', '>', page.after);
  return (await query.orderBy('id').limit(page.limit).execute()).map((row) => opened(emails, row));
}

export class TenantEmailTaken extends Error {}

export async function insertTenantUser(db: Db, emails: EmailProtection, row: { tenantId: string; email: string; passwordHash: string; role: Role }): Promise<TenantUser> {
  // Rows from before migration 0008 not yet re-encrypted are outside the hash indexes.
  if (await findUserByEmail(db, emails, row.email)) throw Object.assign(new TenantEmailTaken(), { code: '23505' });
  const id = randomUUID();
  const inserted = await db.insertInto('users').values({ id, tenant_id: row.tenantId, ...emailColumns(emails, row.email, id), password_hash: row.passwordHash, role: row.role }).returning(columns).executeTakeFirstOrThrow();
  return opened(emails, inserted);
}

/**
 * The tenant's active admins, locked until the transaction ends: two admins demoting each
 * other at once serialise here (in id order, so they cannot deadlock), so the tenant always
 * keeps one.
 */
export async function lockActiveAdmins(trx: Db, tenantId: string): Promise<string[]> {
  const rows = await trx.selectFrom('users').select('id').where('tenant_id', '=', tenantId).where('role', '=', 'admin').where('disabled', '=', false).orderBy('id').forUpdate().execute();
  return rows.map((row) => row.id);
}

export async function lockTenantUser(trx: Db, emails: EmailProtection, tenantId: string, id: string): Promise<TenantUser | undefined> {
  const row = await trx.selectFrom('users').select(columns).where('tenant_id', '=', tenantId).where('id', '=', id).forUpdate().executeTakeFirst();
  return row && opened(emails, row);
}

export async function updateTenantUser(trx: Db, emails: EmailProtection, id: string, change: { role?: Role | undefined; disabled?: boolean | undefined }): Promise<TenantUser> {
  const row = await trx
    .updateTable('users')
    .set({ ...(change.role !== undefined ? { role: change.role } : {}), ...(change.disabled !== undefined ? { disabled: change.disabled } : {}), updated_at: new Date() })
    .where('id', '=', id)
    .returning(columns)
    .executeTakeFirstOrThrow();
  return opened(emails, row);
}
