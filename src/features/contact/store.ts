import type { Kysely } from 'kysely';
import type { ContactMessagesTable, Tables } from '../../platform/db/tables.js';
import type { SealedContactContent } from './content-sealing.js';

/** The database, or the transaction a message is stored in (with its notification job). */
export type Db = Kysely<Tables>;

export interface Submitter {
  kind: ContactMessagesTable['submitter_kind'];
  /** A user id (local uuid or `oidc:<subject>`) or an API key id. */
  id: string;
}

export interface NewContactMessage {
  id: string;
  tenantId: string;
  sealed: SealedContactContent;
  submitter: Submitter;
  correlationId: string | null;
}

export interface ContactMessageRow extends SealedContactContent {
  id: string;
  /** The listing cursor, as a decimal string whichever driver read it. */
  seq: string;
  tenant_id: string;
  submitter_kind: Submitter['kind'];
  submitter_id: string;
  correlation_id: string | null;
  created_at: Date;
}

const COLUMNS = ['id', 'seq', 'tenant_id', 'name_encrypted', 'email_encrypted', 'message_encrypted', 'submitter_kind', 'submitter_id', 'correlation_id', 'created_at'] as const;

// bigint: pg reads it as a string, PGlite as a number.
const withSeqAsString = <T extends { seq: string | number }>(row: T) => ({ ...row, seq: String(row.seq) });

export async function insertContactMessage(db: Db, message: NewContactMessage): Promise<void> {
  await db
    .insertInto('contact_messages')
    .values({
      id: message.id,
      tenant_id: message.tenantId,
      ...message.sealed,
      submitter_kind: message.submitter.kind,
      submitter_id: message.submitter.id,
      correlation_id: message.correlationId,
    })
    .execute();
}

/** Any tenant's message: for the notification job, which acts on ids it enqueued itself. */
export async function findContactMessage(db: Db, id: string): Promise<ContactMessageRow | undefined> {
  const row = await db.selectFrom('contact_messages').select(COLUMNS).where('id', '=', id).executeTakeFirst();
  return row && withSeqAsString(row);
}

/** One tenant's messages, newest first, those older than `beforeSeq` when given. */
export async function listTenantContactMessages(db: Db, tenantId: string, page: { limit: number; beforeSeq?: string | undefined }): Promise<ContactMessageRow[]> {
  let query = db.selectFrom('contact_messages').select(COLUMNS).where('tenant_id', '=', tenantId);
  if (page.beforeSeq !== undefined) query = query.where('seq', '<', page.beforeSeq);
  const rows = await query.orderBy('seq', 'desc').limit(page.limit).execute();
  return rows.map(withSeqAsString);
}
