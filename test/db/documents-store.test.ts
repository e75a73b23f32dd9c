import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { insertDocument, listDocuments, MAX_RANKED_MATCHES, searchDocuments, softDeleteDocument, findDocument, recordExtractedText, type Db } from '../../src/features/documents/documents-store.js';
import { highlightHtml } from '../../src/features/documents/documents-search.js';
import { sweepOrphanObjects } from '../../src/features/documents/orphan-sweep.js';
import { purgeDeletedDocuments } from '../../src/features/documents/purge.js';
import { migrateUp } from '../../src/platform/db/migrations.js';
import { createLocalStorage } from '../../src/platform/storage/local-storage.js';
import { databaseTargets, freshDatabasePerTest } from '../support/databases.js';

async function tenant(db: Db): Promise<string> {
  return (await db.insertInto('tenants').values({ name: 'example.com' }).returning('id').executeTakeFirstOrThrow()).id;
}

async function document(db: Db, tenantId: string, name: string, text?: string): Promise<string> {
  const id = randomUUID();
  await insertDocument(db, { id, tenantId, uploadedByUserId: null, uploadedByApiKeyId: null, originalName: name, contentType: 'text/plain; charset=utf-8', sizeBytes: 10, sha256: '0'.repeat(64), storageKey: `${tenantId}/${id}` });
  if (text !== undefined) await recordExtractedText(db, id, text);
  return id;
}

describe.each(databaseTargets())('documents store on $name', (factory) => {
  const fresh = freshDatabasePerTest(factory);

  it('search ranks matches, highlights them, and sees only the tenant\'s live documents', async () => {
    await migrateUp(fresh.handle);
    const db = fresh.handle.db;
    const [ours, theirs] = [await tenant(db), await tenant(db)];
    const best = await document(db, ours, 'zebra-report.txt', 'Zebras migrate. The zebra herd crossed the river.');
    const other = await document(db, ours, 'notes.txt', 'A note that mentions a zebra once, among many other words about lions.');
    await document(db, ours, 'lions.txt', 'Only lions here.');
    await document(db, theirs, 'zebra.txt', 'Their zebra document.');
    const deleted = await document(db, ours, 'old-zebra.txt', 'zebra zebra zebra');
    await softDeleteDocument(db, ours, deleted);

    const { hits, total } = await searchDocuments(db, ours, 'zebra', { page: 1, limit: 10 });
    expect(total).toBe(2);
    expect(hits.map((h) => h.id)).toEqual([best, other]);
    expect(hits[0]!.rank).toBeGreaterThan(hits[1]!.rank);
    expect(highlightHtml(hits[0]!.headline)).toContain('<mark>zebra</mark>');
    // Stemming: "migrating" finds "migrate".
    expect((await searchDocuments(db, ours, 'migrating', { page: 1, limit: 10 })).hits.map((h) => h.id)).toEqual([best]);
  });

  it('search pages, and counts the total on a page past the last', async () => {
    await migrateUp(fresh.handle);
    const db = fresh.handle.db;
    const ours = await tenant(db);
    for (let i = 0; i < 5; i++) await document(db, ours, `doc-${i}.txt`, `zebra number ${i}`);
    const second = await searchDocuments(db, ours, 'zebra', { page: 2, limit: 2 });
    expect(second.hits).toHaveLength(2);
    expect(second.total).toBe(5);
    expect(await searchDocuments(db, ours, 'zebra', { page: 9, limit: 2 })).toEqual({ hits: [], total: 5 });
  });

  it('web-search syntax: phrases, exclusions, OR; stop words alone and SQL or HTML in q match nothing and break nothing', async () => {
    await migrateUp(fresh.handle);
    const db = fresh.handle.db;
    const ours = await tenant(db);
    const a = await document(db, ours, 'a.txt', 'striped zebra in the savanna');
    const b = await document(db, ours, 'b.txt', 'zebra crossing on the street');
    const ids = async (q: string) => (await searchDocuments(db, ours, q, { page: 1, limit: 10 })).hits.map((h) => h.id).sort();
    expect(await ids('"striped zebra"')).toEqual([a]);
    expect(await ids('zebra -street')).toEqual([a]);
    expect(await ids('savanna or street')).toEqual([a, b].sort());
    expect(await ids('the')).toEqual([]);
    expect(await ids("'); drop table documents; --")).toEqual([]);
    expect(await ids('<script>alert(1)</script>')).toEqual([]);
    expect(await ids('zebra')).toHaveLength(2);
  });

  it('a query matching more than MAX_RANKED_MATCHES ranks only the newest of them, and still counts them all', async () => {
    await migrateUp(fresh.handle);
    const db = fresh.handle.db;
    const ours = await tenant(db);
    // The oldest document would rank first (its name matches too); it is past the ranked window.
    const oldest = await document(db, ours, 'zebra-zebra.txt', 'zebra zebra zebra zebra');
    await db.updateTable('documents').set({ created_at: sql<Date>`now() - interval '1 day'` }).where('id', '=', oldest).execute();
    await sql`insert into documents (id, tenant_id, original_name, content_type, size_bytes, sha256, storage_key, status, extracted_text)
      select gen_random_uuid(), ${ours}, 'doc-' || n || '.txt', 'text/plain', 1, repeat('0', 64), ${ours} || '/k' || n, 'extracted', 'a zebra among ' || n
      from generate_series(1, ${MAX_RANKED_MATCHES}) n`.execute(db);
    const { hits, total } = await searchDocuments(db, ours, 'zebra', { page: 1, limit: 5 });
    expect(total).toBe(MAX_RANKED_MATCHES + 1);
    expect(hits).toHaveLength(5);
    expect(hits.map((h) => h.id)).not.toContain(oldest);
  });

  it('highlights escape the document\'s own markup', async () => {
    await migrateUp(fresh.handle);
    const db = fresh.handle.db;
    const ours = await tenant(db);
    await document(db, ours, 'x.html', 'zebra <img src=x onerror=alert(1)>');
    const [hit] = (await searchDocuments(db, ours, 'zebra', { page: 1, limit: 10 })).hits;
    const html = highlightHtml(hit!.headline);
    expect(html).toContain('<mark>zebra</mark>');
    expect(html).not.toContain('<img');
  });

  it('lists newest first with a total, tenant-scoped; a deleted document is gone from list and lookups', async () => {
    await migrateUp(fresh.handle);
    const db = fresh.handle.db;
    const [ours, theirs] = [await tenant(db), await tenant(db)];
    const first = await document(db, ours, 'first.txt');
    const second = await document(db, ours, 'second.txt');
    await document(db, theirs, 'theirs.txt');
    expect((await listDocuments(db, ours, { page: 1, limit: 10 })).total).toBe(2);
    expect(await findDocument(db, theirs, first)).toBeUndefined();
    expect(await softDeleteDocument(db, theirs, first)).toBe(false);
    expect(await softDeleteDocument(db, ours, first)).toBe(true);
    expect(await softDeleteDocument(db, ours, first)).toBe(false);
    const { rows, total } = await listDocuments(db, ours, { page: 1, limit: 10 });
    expect([rows.map((r) => r.id), total]).toEqual([[second], 1]);
  });

  it('purge removes the object and then the row of documents deleted longer ago than the retention, and nothing else', async () => {
    await migrateUp(fresh.handle);
    const db = fresh.handle.db;
    const dir = await mkdtemp(join(tmpdir(), 'rampart-purge-'));
    try {
      const storage = createLocalStorage(join(dir, 'objects'));
      const ours = await tenant(db);
      const ids = [await document(db, ours, 'old.txt'), await document(db, ours, 'recent.txt'), await document(db, ours, 'live.txt')];
      for (const id of ids) await storage.put(`${ours}/${id}`, Readable.from([Buffer.from(id)]));
      await softDeleteDocument(db, ours, ids[0]!);
      await softDeleteDocument(db, ours, ids[1]!);
      await db.updateTable('documents').set({ deleted_at: sql<Date>`now() - interval '8 days'` }).where('id', '=', ids[0]!).execute();

      expect(await purgeDeletedDocuments(db, storage, 7 * 86_400)).toBe(1);
      expect((await db.selectFrom('documents').select('id').execute()).map((r) => r.id).sort()).toEqual([ids[1], ids[2]].sort());
      expect((await readdir(join(dir, 'objects', ours))).sort()).toEqual([ids[1], ids[2]].sort());

      expect(await purgeDeletedDocuments(db, storage, 0)).toBe(1);
      expect(await readdir(join(dir, 'objects', ours))).toEqual([ids[2]]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the orphan sweep deletes old document objects without a row and old unfinished writes, and nothing young, owned (deleted rows too) or foreign', async () => {
    await migrateUp(fresh.handle);
    const db = fresh.handle.db;
    const dir = await mkdtemp(join(tmpdir(), 'rampart-orphans-'));
    try {
      const root = join(dir, 'objects');
      const storage = createLocalStorage(root);
      const ours = await tenant(db);
      const live = await document(db, ours, 'live.txt');
      const deleted = await document(db, ours, 'deleted.txt');
      await softDeleteDocument(db, ours, deleted);
      const [orphanOld, orphanYoung] = [randomUUID(), randomUUID()];
      for (const id of [live, deleted, orphanOld, orphanYoung]) await storage.put(`${ours}/${id}`, Readable.from([Buffer.from(id)]));
      await storage.put('backups/nightly', Readable.from([Buffer.from('not a document')]));
      await mkdir(join(root, '.incoming'), { recursive: true });
      await writeFile(join(root, '.incoming', 'crashed.part'), 'half');
      const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
      for (const path of [join(ours, live), join(ours, deleted), join(ours, orphanOld), join('backups', 'nightly'), join('.incoming', 'crashed.part')]) {
        await utimes(join(root, path), twoHoursAgo, twoHoursAgo);
      }

      const listed = [];
      for await (const object of storage.list()) listed.push(object);
      expect(listed.map((o) => o.key).sort()).toEqual([...[live, deleted, orphanOld, orphanYoung].map((id) => `${ours}/${id}`), 'backups/nightly'].sort());
      expect(listed.find((o) => o.key === 'backups/nightly')?.lastModified.getTime()).toBe(twoHoursAgo.getTime());

      await writeFile(join(root, '.incoming', 'in-flight.part'), 'still being written');

      expect(await sweepOrphanObjects(db, storage, { minAgeMs: 3_600_000 })).toEqual({ deleted: [`${ours}/${orphanOld}`], abandonedWrites: 1 });
      expect((await readdir(join(root, ours))).sort()).toEqual([live, deleted, orphanYoung].sort());
      expect(await readdir(join(root, 'backups'))).toEqual(['nightly']);
      expect(await readdir(join(root, '.incoming'))).toEqual(['in-flight.part']);
      // A second run finds nothing more; an aborted one deletes nothing.
      expect(await sweepOrphanObjects(db, storage, { minAgeMs: 3_600_000 })).toEqual({ deleted: [], abandonedWrites: 0 });
      expect(await sweepOrphanObjects(db, storage, { minAgeMs: 0, signal: AbortSignal.abort() })).toEqual({ deleted: [], abandonedWrites: 0 });
      expect((await sweepOrphanObjects(db, storage, { minAgeMs: 0, now: new Date(Date.now() + 1_000) })).deleted).toEqual([`${ours}/${orphanYoung}`]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
