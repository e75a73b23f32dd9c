import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Role, Tables } from '../../platform/db/tables.js';
import type { EmailProtection } from './email-protection.js';

export type Db = Kysely<Tables>;
export type StoredUser = Selectable<Tables['users']>;
/** A user as the application sees it: the address decrypted, the stored forms left out. */
export type UserRow = Omit<StoredUser, 'email' | 'email_hash' | 'email_encrypted'> & { email: string };

export function withOpenEmail(emails: EmailProtection, row: StoredUser): UserRow {
  const { email_hash: _hash, email_encrypted: _encrypted, ...rest } = row;
  return { ...rest, email: emails.open(row) };
}

/** The stored columns for a new user's address (its id must be chosen first: the ciphertext is bound to it). */
export function emailColumns(emails: EmailProtection, email: string, userId: string) {
  return { email: null, email_hash: emails.lookupHash(email), email_encrypted: emails.seal(email, userId) };
}
export type SessionRow = Selectable<Tables['sessions']>;

/** Who asked, from where: stamped on sessions and audit events. */
export interface RequestContext {
  ip: string;
  userAgent: string | null;
  correlationId: string;
}

export class EmailTaken extends Error {}

const UNIQUE_VIOLATION = '23505';

/** A new tenant whose first user is its admin (self-service sign-up). */
export async function createTenantWithAdmin(db: Db, emails: EmailProtection, email: string, passwordHash: string): Promise<UserRow> {
  // Rows from before migration 0008 not yet re-encrypted are outside the hash indexes.
  if (await findUserByEmail(db, emails, email)) throw new EmailTaken();
  try {
    const id = randomUUID();
    const row = await db.transaction().execute(async (trx) => {
      // Named by the address's domain: the tenant table is not where personal data should sit in clear.
      const tenant = await trx.insertInto('tenants').values({ name: email.split('@').at(-1) ?? 'tenant' }).returning('id').executeTakeFirstOrThrow();
      return trx
        .insertInto('users')
        .values({ id, tenant_id: tenant.id, ...emailColumns(emails, email, id), password_hash: passwordHash, role: 'admin' satisfies Role })
        .returningAll()
        .executeTakeFirstOrThrow();
    });
    return withOpenEmail(emails, row);
  } catch (error) {
    if ((error as { code?: string }).code === UNIQUE_VIOLATION) throw new EmailTaken();
    throw error;
  }
}

export async function findUserByEmail(db: Db, emails: EmailProtection, email: string): Promise<UserRow | undefined> {
  const row = await db
    .selectFrom('users')
    .selectAll()
    .where((eb) => eb.or([eb('email_hash', '=', emails.lookupHash(email)), eb(sql<string>`lower(email)`, '=', email.trim().toLowerCase())]))
    .executeTakeFirst();
  return row && withOpenEmail(emails, row);
}

export async function findUser(db: Db, emails: EmailProtection, id: string): Promise<UserRow | undefined> {
  const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  return row && withOpenEmail(emails, row);
}

/** What an authorisation check needs (no address to decrypt). */
export function findUserAccess(db: Db, id: string): Promise<Pick<StoredUser, 'role' | 'disabled' | 'tenant_id'> | undefined> {
  return db.selectFrom('users').select(['role', 'disabled', 'tenant_id']).where('id', '=', id).executeTakeFirst();
}

export async function replacePasswordHash(db: Db, userId: string, passwordHash: string): Promise<void> {
  await db.updateTable('users').set({ password_hash: passwordHash, updated_at: new Date() }).where('id', '=', userId).execute();
}

export function createSession(db: Db, user: Pick<UserRow, 'id' | 'tenant_id'>, context: RequestContext): Promise<SessionRow> {
  return db
    .insertInto('sessions')
    .values({ user_id: user.id, tenant_id: user.tenant_id, user_agent: context.userAgent, ip: context.ip, revoked_at: null })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function insertRefreshToken(
  db: Db,
  row: { tokenHash: string; sessionId: string; familyId: string; parentId: string | null; expiresAt: Date },
): Promise<{ id: string; created_at: Date }> {
  return db
    .insertInto('refresh_tokens')
    .values({ token_hash: row.tokenHash, session_id: row.sessionId, family_id: row.familyId, parent_id: row.parentId, expires_at: row.expiresAt, used_at: null, replaced_by: null })
    .returning(['id', 'created_at'])
    .executeTakeFirstOrThrow();
}

/** The token, its session and user, locked until the transaction ends so two rotations of one token serialise. */
export function lockRefreshToken(trx: Db, tokenHash: string) {
  return trx
    .selectFrom('refresh_tokens as t')
    .innerJoin('sessions as s', 's.id', 't.session_id')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select([
      't.id', 't.session_id', 't.family_id', 't.expires_at', 't.used_at', 't.replaced_by',
      's.revoked_at', 's.tenant_id', 'u.id as user_id', 'u.role', 'u.disabled',
    ])
    .where('t.token_hash', '=', tokenHash)
    .forUpdate('t')
    .executeTakeFirst();
}

export function findRefreshToken(trx: Db, id: string) {
  return trx.selectFrom('refresh_tokens').select(['id', 'token_hash', 'created_at', 'used_at']).where('id', '=', id).executeTakeFirst();
}

/** The session a refresh token belongs to, unlocked: the cookie refresh checks its CSRF token before rotating. */
export async function sessionOfRefreshToken(db: Db, tokenHash: string): Promise<string | undefined> {
  const row = await db.selectFrom('refresh_tokens').select('session_id').where('token_hash', '=', tokenHash).executeTakeFirst();
  return row?.session_id;
}

export async function markRefreshTokenUsed(trx: Db, id: string, replacedBy: string, at: Date): Promise<void> {
  await trx.updateTable('refresh_tokens').set({ used_at: at, replaced_by: replacedBy }).where('id', '=', id).execute();
}

export async function touchSession(db: Db, sessionId: string, context: RequestContext): Promise<void> {
  await db.updateTable('sessions').set({ last_seen_at: new Date(), ip: context.ip, user_agent: context.userAgent }).where('id', '=', sessionId).execute();
}

/** Revokes live sessions of one user; returns the ids that were live. */
export async function revokeSessions(db: Db, userId: string, which: { only?: string; except?: string }): Promise<string[]> {
  let query = db.updateTable('sessions').set({ revoked_at: new Date() }).where('user_id', '=', userId).where('revoked_at', 'is', null);
  if (which.only !== undefined) query = query.where('id', '=', which.only);
  if (which.except !== undefined) query = query.where('id', '!=', which.except);
  const rows = await query.returning('id').execute();
  return rows.map((row) => row.id);
}

export async function revokeSessionFamily(db: Db, familyId: string): Promise<void> {
  await db.updateTable('sessions').set({ revoked_at: new Date() }).where('family_id', '=', familyId).where('revoked_at', 'is', null).execute();
}

export function listLiveSessions(db: Db, userId: string): Promise<SessionRow[]> {
  return db.selectFrom('sessions').selectAll().where('user_id', '=', userId).where('revoked_at', 'is', null).orderBy('last_seen_at', 'desc').execute();
}

/** Whether requests on this session must be refused: revoked, gone, or its user disabled. */
export async function sessionIsDead(db: Db, sessionId: string): Promise<boolean> {
  const row = await db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select(['s.revoked_at', 'u.disabled'])
    .where('s.id', '=', sessionId)
    .executeTakeFirst();
  return !row || row.revoked_at !== null || row.disabled;
}

export interface AuditEvent {
  action: string;
  tenantId?: string | null;
  actorId?: string | null;
  details?: Record<string, unknown>;
}

export async function writeAuditEvent(db: Db, context: RequestContext, event: AuditEvent): Promise<void> {
  await db
    .insertInto('audit_events')
    .values({
      action: event.action,
      tenant_id: event.tenantId ?? null,
      actor_id: event.actorId ?? null,
      ip: context.ip,
      user_agent: context.userAgent,
      correlation_id: context.correlationId,
      details: JSON.stringify(event.details ?? {}),
    })
    .execute();
}
