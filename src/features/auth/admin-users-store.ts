import type { Role } from '../../platform/db/tables.js';
import type { Db, UserRow } from './store.js';

export type TenantUser = Pick<UserRow, 'id' | 'email' | 'role' | 'disabled' | 'created_at'>;

const columns = ['id', 'email', 'role', 'disabled', 'created_at'] as const;

/** One page of a tenant's users in id order; `after` is the last id of the previous page. */
export function listTenantUsers(db: Db, tenantId: string, page: { limit: number; after?: string | undefined }): Promise<TenantUser[]> {
  let query = db.selectFrom('users').select(columns).where('tenant_id', '=', tenantId);
  if (page.after !== undefined) query = query.where('id', '>', page.after);
  return query.orderBy('id').limit(page.limit).execute();
}

export function insertTenantUser(db: Db, row: { tenantId: string; email: string; passwordHash: string; role: Role }): Promise<TenantUser> {
  return db.insertInto('users').values({ tenant_id: row.tenantId, email: row.email, password_hash: row.passwordHash, role: row.role }).returning(columns).executeTakeFirstOrThrow();
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

export function lockTenantUser(trx: Db, tenantId: string, id: string): Promise<TenantUser | undefined> {
  return trx.selectFrom('users').select(columns).where('tenant_id', '=', tenantId).where('id', '=', id).forUpdate().executeTakeFirst();
}

export function updateTenantUser(trx: Db, id: string, change: { role?: Role | undefined; disabled?: boolean | undefined }): Promise<TenantUser> {
  return trx
    .updateTable('users')
    .set({ ...(change.role !== undefined ? { role: change.role } : {}), ...(change.disabled !== undefined ? { disabled: change.disabled } : {}), updated_at: new Date() })
    .where('id', '=', id)
    .returning(columns)
    .executeTakeFirstOrThrow();
}
