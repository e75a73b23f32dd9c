import type { Selectable } from 'kysely';
import type { ApiKeysTable } from '../../platform/db/tables.js';
import type { Db } from './store.js';

export type ApiKeyRow = Selectable<ApiKeysTable>;

/** What a listing shows: never the key, never its hash. */
export type ApiKeySummary = Pick<ApiKeyRow, 'id' | 'name' | 'prefix' | 'scopes' | 'created_at' | 'expires_at' | 'last_used_at' | 'revoked_at'>;

const SUMMARY = ['id', 'name', 'prefix', 'scopes', 'created_at', 'expires_at', 'last_used_at', 'revoked_at'] as const;

export function insertApiKey(
  db: Db,
  row: { tenantId: string; createdBy: string; name: string; prefix: string; scopes: string[]; keyHash: string; expiresAt: Date | null },
): Promise<ApiKeySummary> {
  return db
    .insertInto('api_keys')
    .values({
      tenant_id: row.tenantId,
      created_by: row.createdBy,
      name: row.name,
      prefix: row.prefix,
      scopes: JSON.stringify(row.scopes),
      key_hash: row.keyHash,
      previous_key_hash: null,
      previous_key_expires_at: null,
      expires_at: row.expiresAt,
      last_used_at: null,
      revoked_at: null,
    })
    .returning(SUMMARY)
    .executeTakeFirstOrThrow();
}

export function listTenantApiKeys(db: Db, tenantId: string): Promise<ApiKeySummary[]> {
  return db.selectFrom('api_keys').select(SUMMARY).where('tenant_id', '=', tenantId).orderBy('created_at', 'desc').orderBy('id').execute();
}

/** The key whose current hash, or previous hash during a rotation overlap, is `keyHash`. */
export function findApiKeyByHash(db: Db, keyHash: string) {
  return db
    .selectFrom('api_keys')
    .select(['id', 'tenant_id', 'scopes', 'expires_at', 'revoked_at', 'key_hash', 'previous_key_expires_at'])
    .where((eb) => eb.or([eb('key_hash', '=', keyHash), eb('previous_key_hash', '=', keyHash)]))
    .executeTakeFirst();
}

/** After an API_KEY_PEPPER rotation: the key's hash under the current pepper replaces the old one (once, whichever instance gets there first). */
export async function upgradeApiKeyHash(db: Db, id: string, from: string, to: string): Promise<void> {
  await db.updateTable('api_keys').set({ key_hash: to }).where('id', '=', id).where('key_hash', '=', from).execute();
}

/** Everything verifying a key needs, by id (the API key cache reloads this after a change). */
export function findApiKeyById(db: Db, id: string) {
  return db
    .selectFrom('api_keys')
    .select(['id', 'tenant_id', 'scopes', 'expires_at', 'revoked_at', 'key_hash', 'previous_key_hash', 'previous_key_expires_at'])
    .where('id', '=', id)
    .executeTakeFirst();
}

/**
 * Gives a live key of the tenant a new hash; the old hash stays valid until `previousUntil`
 * (null: it dies now). Undefined when the tenant has no live key with this id.
 */
export function replaceApiKeyHash(
  db: Db,
  which: { id: string; tenantId: string; now: Date },
  next: { prefix: string; keyHash: string; previousUntil: Date | null },
): Promise<ApiKeySummary | undefined> {
  return db
    .updateTable('api_keys')
    .set((eb) => ({
      prefix: next.prefix,
      key_hash: next.keyHash,
      // The right-hand side sees the row before the update: the outgoing hash.
      previous_key_hash: next.previousUntil ? eb.ref('key_hash') : null,
      previous_key_expires_at: next.previousUntil,
    }))
    .where('id', '=', which.id)
    .where('tenant_id', '=', which.tenantId)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', which.now)]))
    .returning(SUMMARY)
    .executeTakeFirst();
}

/** Revokes a live key of the tenant; undefined when there is none with this id. */
export function revokeTenantApiKey(db: Db, which: { id: string; tenantId: string; now: Date }): Promise<ApiKeySummary | undefined> {
  return db
    .updateTable('api_keys')
    .set({ revoked_at: which.now, previous_key_hash: null, previous_key_expires_at: null })
    .where('id', '=', which.id)
    .where('tenant_id', '=', which.tenantId)
    .where('revoked_at', 'is', null)
    .returning(SUMMARY)
    .executeTakeFirst();
}

/** One statement for a whole batch of `last_used_at` updates; never moves a timestamp back. */
export async function markApiKeysUsed(db: Db, ids: string[], at: Date): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable('api_keys')
    .set({ last_used_at: at })
    .where('id', 'in', ids)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at)]))
    .execute();
}
