import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { DocumentsTable, Tables } from '../../platform/db/tables.js';

export type Db = Kysely<Tables>;
export type DocumentRow = Omit<Selectable<DocumentsTable>, 'search' | 'extracted_text'>;

const METADATA = ['id', 'tenant_id', 'uploaded_by_user_id', 'uploaded_by_api_key_id', 'original_name', 'content_type', 'size_bytes', 'sha256', 'storage_key', 'status', 'extract_error', 'created_at', 'extracted_at', 'deleted_at'] as const;

export interface NewDocument {
  id: string;
  tenantId: string;
  uploadedByUserId: string | null;
  uploadedByApiKeyId: string | null;
  originalName: string;
  contentType: string;
  sizeBytes: number;
  sha256: string;
  storageKey: string;
}

export async function insertDocument(trx: Transaction<Tables> | Db, doc: NewDocument): Promise<DocumentRow> {
  return trx
    .insertInto('documents')
    .values({
      id: doc.id,
      tenant_id: doc.tenantId,
      uploaded_by_user_id: doc.uploadedByUserId,
      uploaded_by_api_key_id: doc.uploadedByApiKeyId,
      original_name: doc.originalName,
      content_type: doc.contentType,
      size_bytes: doc.sizeBytes,
      sha256: doc.sha256,
      storage_key: doc.storageKey,
      extracted_text: null,
      extract_error: null,
      extracted_at: null,
      deleted_at: null,
    })
    .returning(METADATA)
    .executeTakeFirstOrThrow();
}

/** A live (not deleted) document of the tenant; another tenant's id is simply not found. */
export async function findDocument(db: Db, tenantId: string, id: string): Promise<DocumentRow | undefined> {
  return db.selectFrom('documents').select(METADATA).where('id', '=', id).where('tenant_id', '=', tenantId).where('deleted_at', 'is', null).executeTakeFirst();
}

export interface Page {
  page: number;
  limit: number;
}

/** The tenant's live documents, newest first, with how many there are in all. */
export async function listDocuments(db: Db, tenantId: string, { page, limit }: Page): Promise<{ rows: DocumentRow[]; total: number }> {
  const live = db.selectFrom('documents').where('tenant_id', '=', tenantId).where('deleted_at', 'is', null);
  const [rows, count] = await Promise.all([
    live.select(METADATA).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).offset((page - 1) * limit).execute(),
    live.select((eb) => eb.fn.countAll<string | number>().as('total')).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(count.total) };
}

/** Hides the document at once; the purge job removes it (row and object) after the retention. */
export async function softDeleteDocument(db: Db, tenantId: string, id: string): Promise<boolean> {
  const result = await db
    .updateTable('documents')
    .set({ deleted_at: sql<Date>`now()` })
    .where('id', '=', id)
    .where('tenant_id', '=', tenantId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export interface SearchHit extends DocumentRow {
  rank: number;
  /** Matched words between \u0002 and \u0003 (see search.ts), in text that still needs escaping. */
  headline: string;
}

// Bounds the text ts_headline re-parses for each hit on a page.
const HEADLINE_SOURCE_CHARS = 50_000;
/**
 * Ranking reads every candidate's tsvector (a few KiB, TOASTed): a query matching most of a
 * large tenant would read them all. Only the newest this many matches are ranked; `total`
 * still counts every match. A query that broad is refined by adding words.
 */
export const MAX_RANKED_MATCHES = 1_000;
// Markers that cannot occur in stored text (extraction removes control characters).
export const HIGHLIGHT_START = '\u0002';
export const HIGHLIGHT_STOP = '\u0003';
const HEADLINE_OPTIONS = `StartSel=${HIGHLIGHT_START}, StopSel=${HIGHLIGHT_STOP}, MaxWords=30, MinWords=10, MaxFragments=2, FragmentDelimiter=" … "`;

type SearchRow = { [K in keyof DocumentRow]: DocumentRow[K] | null } & { rank: number | null; headline: string | null; total: string | number };

/**
 * Full-text search over a tenant's live documents (name and extracted text): ranked by
 * `ts_rank` among the newest MAX_RANKED_MATCHES matches, newest first among equals.
 * Headlines are computed for the page's hits only.
 */
export async function searchDocuments(db: Db, tenantId: string, query: string, { page, limit }: Page): Promise<{ hits: SearchHit[]; total: number }> {
  const rows = await db.transaction().execute(async (trx) => {
    // The planner prices `tsvector @@ tsquery` as cheap and picks a sequential scan for common
    // words, which then detoasts every row's tsvector (10× slower than the GIN index measured
    // at 10,000 documents). Transaction-scoped, so PgBouncer's transaction pooling is fine.
    await sql`set local enable_seqscan = off`.execute(trx);
    const result = await sql<SearchRow>`
      with query as (select websearch_to_tsquery('english', ${query}) as q),
      matches as materialized (
        select d.id, d.created_at from documents d, query
        where d.tenant_id = ${tenantId} and d.deleted_at is null and d.search @@ query.q
      ),
      candidates as (select id from matches order by created_at desc, id desc limit ${MAX_RANKED_MATCHES}),
      hits as (
        select d.id, ts_rank(d.search, query.q) as rank
        from candidates join documents d on d.id = candidates.id, query
        order by rank desc, d.created_at desc, d.id
        limit ${limit} offset ${(page - 1) * limit}
      )
      select counted.total, page.* from (select count(*) as total from matches) counted
      left join lateral (
        select ${sql.join(METADATA.map((column) => sql.ref(`d.${column}`)))}, hits.rank,
          ts_headline('english', d.original_name || E'\\n' || left(coalesce(d.extracted_text, ''), ${HEADLINE_SOURCE_CHARS}), query.q, ${HEADLINE_OPTIONS}) as headline
        from hits join documents d on d.id = hits.id, query
      ) page on true
      order by page.rank desc, page.created_at desc, page.id`.execute(trx);
    return result.rows;
  });
  const total = Number(rows[0]?.total ?? 0);
  const hits = rows
    .filter((row) => row.id !== null)
    .map(({ total: _total, ...row }) => ({ ...(row as unknown as DocumentRow), rank: Number(row.rank), headline: row.headline ?? '' }));
  return { hits, total };
}

/** What the extraction job needs; undefined once the document is deleted or gone. */
export async function findForExtraction(db: Db, id: string): Promise<Pick<DocumentRow, 'id' | 'content_type' | 'size_bytes' | 'storage_key' | 'status'> | undefined> {
  return db.selectFrom('documents').select(['id', 'content_type', 'size_bytes', 'storage_key', 'status']).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
}

export async function recordExtractedText(db: Db, id: string, text: string): Promise<void> {
  await db.updateTable('documents').set({ extracted_text: text, status: 'extracted', extract_error: null, extracted_at: sql<Date>`now()` }).where('id', '=', id).execute();
}

export async function recordExtractionFailure(db: Db, id: string, reason: string): Promise<void> {
  await db.updateTable('documents').set({ status: 'extract_failed', extract_error: reason.slice(0, 200), extracted_at: sql<Date>`now()` }).where('id', '=', id).execute();
}

/** Documents deleted at least `retentionS` ago (database clock), oldest first. */
export async function findPurgeable(db: Db, retentionS: number, limit: number): Promise<Array<{ id: string; storage_key: string }>> {
  return db
    .selectFrom('documents')
    .select(['id', 'storage_key'])
    .where('deleted_at', '<=', sql<Date>`now() - make_interval(secs => ${retentionS})`)
    .orderBy('deleted_at')
    .limit(limit)
    .execute();
}

export async function deleteDocumentRow(db: Db, id: string): Promise<void> {
  await db.deleteFrom('documents').where('id', '=', id).where('deleted_at', 'is not', null).execute();
}

/** Which of `keys` a document row (deleted ones included) still points to. */
export async function storageKeysInUse(db: Db, keys: readonly string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const rows = await db.selectFrom('documents').select('storage_key').where('storage_key', 'in', keys).execute();
  return new Set(rows.map((row) => row.storage_key));
}
