import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authEnv, bearer, logIn, postJson, signUp, uniqueEmail, withDatabase } from '../support/auth-client.js';
import { databaseTargets, type DatabaseTarget } from '../support/databases.js';
import { download, sha256, uploadDocument } from '../support/documents-client.js';
import { send, startRampart, type RampartProcess } from '../support/rampart-process.js';
import { elfExecutable, pdfWithPages, pdfWithText, PNG_1X1, windowsExecutable } from '../support/sample-documents.js';

interface Doc { id: string; name: string; content_type: string; size_bytes: number; sha256: string; status: string }
interface SearchResult extends Doc { rank: number; highlight: string }

const UPLOAD_MAX_BYTES = 1024 * 1024;

/** Every file under `dir`, relative, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();
}

describe.each(databaseTargets())('documents on $name', (factory) => {
  describe.skipIf(!factory.available)('upload, extract, search, download, delete, purge', () => {
    let target: DatabaseTarget;
    let rampart: RampartProcess;
    beforeAll(async () => {
      target = await factory.create();
      rampart = await startRampart({
        // The worker runs in-process, so extraction and the purge really run through the queue.
        args: ['serve', '--with-worker'],
        env: authEnv(target, { UPLOAD_MAX_BYTES: String(UPLOAD_MAX_BYTES), DOCUMENTS_RETENTION_S: '0', DOCUMENTS_PURGE_SCHEDULE: '* * * * * *' }),
      });
    });
    afterAll(async () => {
      await rampart?.stop();
      await target?.cleanup();
    });

    const objectsDir = () => join(target.dataDir, 'objects');
    async function signedIn(label: string): Promise<Record<string, string>> {
      const email = uniqueEmail(label);
      await signUp(rampart, email);
      return bearer((await logIn(rampart, email)).access_token);
    }
    async function uploaded(auth: Record<string, string>, name: string, content: Buffer): Promise<Doc> {
      const res = await uploadDocument(rampart, auth, name, content);
      expect(res.status, res.body).toBe(201);
      return res.json<Doc>();
    }
    async function extracted(auth: Record<string, string>, id: string): Promise<Doc> {
      let doc: Doc | undefined;
      await expect.poll(async () => {
        doc = (await rampart.request(`/v1/documents/${id}`, { headers: auth })).json<Doc>();
        return doc.status;
      }, { timeout: 30_000, interval: 200 }).toBe('extracted');
      return doc!;
    }
    const search = async (auth: Record<string, string>, q: string) =>
      (await rampart.request(`/v1/documents/search?q=${encodeURIComponent(q)}`, { headers: auth })).json<{ results: SearchResult[]; total: number }>();
    const list = async (auth: Record<string, string>) => (await rampart.request('/v1/documents', { headers: auth })).json<{ documents: Doc[]; total: number }>();

    it('a PDF is extracted by the worker, found by search with a highlight, and downloads byte-identical', async () => {
      const auth = await signedIn('pdf');
      const pdf = pdfWithText('Quarterly zebra migration report');
      const doc = await uploaded(auth, 'report.pdf', pdf);
      expect(doc).toMatchObject({ name: 'report.pdf', content_type: 'application/pdf', size_bytes: pdf.length, sha256: sha256(pdf), status: 'stored' });

      await extracted(auth, doc.id);
      const found = await search(auth, 'zebra');
      expect(found.total).toBe(1);
      expect(found.results[0]).toMatchObject({ id: doc.id, status: 'extracted' });
      expect(found.results[0]!.highlight).toContain('<mark>zebra</mark>');
      const posted = await postJson(rampart, '/v1/documents/search', { q: 'migrating', limit: 5 }, auth);
      expect(posted.json<{ results: SearchResult[] }>().results.map((r) => r.id)).toEqual([doc.id]);

      const file = await download(rampart, `/v1/documents/${doc.id}/content`, auth);
      expect(file.status).toBe(200);
      expect(sha256(file.bytes)).toBe(sha256(pdf));
      expect(file.headers['content-type']).toBe('application/pdf');
      expect(file.headers['content-disposition']).toBe(`attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`);
      expect(file.headers['x-content-type-options']).toBe('nosniff');
    });

    it('a long PDF is indexed while the server keeps answering: its event loop never waits on the parse', async () => {
      const auth = await signedIn('long-pdf');
      // ~0.8 MB, 600 pages: pdf.js parses it for a second or more, without once yielding to the event loop.
      const pdf = pdfWithPages(Array.from({ length: 600 }, (_, page) => Array.from({ length: 25 }, (_, line) => `page ${page} line ${line} okapi census`)));
      expect(pdf.length).toBeLessThan(UPLOAD_MAX_BYTES);
      const lagMax = async () => Number(/^nodejs_eventloop_lag_max_seconds (\S+)$/m.exec((await send(rampart.metricsUrl)).body)?.[1]);
      await lagMax(); // each scrape restarts the measurement
      const doc = await uploaded(auth, 'census.pdf', pdf);
      await extracted(auth, doc.id);
      // Parsed on the event loop, the whole parse (over a second) shows up here as one delay.
      expect(await lagMax()).toBeLessThan(0.5);
      expect((await search(auth, 'okapi census')).results.map((r) => r.id)).toEqual([doc.id]);
    });

    it('HTML is indexed by its visible text (not its scripts); Markdown and plain text too; an image only by name', async () => {
      const auth = await signedIn('html');
      const html = await uploaded(auth, 'page.html', Buffer.from('<html><body><h1>Okapi sightings</h1><script>var giraffeSecret = 1</script></body></html>'));
      const md = await uploaded(auth, 'notes.md', Buffer.from('# Pangolin notes\n\n*scales* everywhere'));
      const png = await uploaded(auth, 'pangolin-photo.png', PNG_1X1);
      expect(png).toMatchObject({ content_type: 'image/png', status: 'stored' });
      await extracted(auth, html.id);
      await extracted(auth, md.id);
      expect((await search(auth, 'okapi')).results.map((r) => r.id)).toEqual([html.id]);
      expect((await search(auth, 'giraffeSecret')).total).toBe(0);
      expect((await search(auth, 'pangolin')).results.map((r) => r.id).sort()).toEqual([md.id, png.id].sort());
    });

    it('an upload over UPLOAD_MAX_BYTES gets 413 and leaves no row and no object', async () => {
      const auth = await signedIn('oversize');
      const before = await filesUnder(objectsDir());
      const res = await uploadDocument(rampart, auth, 'huge.txt', Buffer.alloc(UPLOAD_MAX_BYTES + 512 * 1024, 0x61));
      expect(res.status).toBe(413);
      expect(res.json()).toMatchObject({ type: '/problems/upload-too-large', status: 413 });
      expect((await list(auth)).total).toBe(0);
      expect(await filesUnder(objectsDir())).toEqual(before);
      // Exactly the limit is accepted.
      expect((await uploadDocument(rampart, auth, 'limit.txt', Buffer.alloc(UPLOAD_MAX_BYTES, 0x61))).status).toBe(201);
    });

    it('an executable renamed .pdf (MZ) or .txt (ELF) gets 415 and is stored nowhere', async () => {
      const auth = await signedIn('exe');
      const before = await filesUnder(objectsDir());
      for (const [name, bytes] of [['invoice.pdf', windowsExecutable()], ['notes.txt', elfExecutable()]] as const) {
        const res = await uploadDocument(rampart, auth, name, bytes);
        expect(res.status).toBe(415);
        expect(res.json()).toMatchObject({ type: '/problems/unsupported-document-type' });
      }
      expect((await list(auth)).total).toBe(0);
      expect(await filesUnder(objectsDir())).toEqual(before);
    });

    it('a file named ../../etc/passwd is stored as "passwd" under a generated key; nothing lands outside the objects directory', async () => {
      const auth = await signedIn('traversal');
      const before = await filesUnder(target.dataDir);
      const doc = await uploaded(auth, '../../etc/passwd', Buffer.from('root:x:0:0:root:/root:/bin/bash\n'));
      expect(doc.name).toBe('passwd');
      const added = (await filesUnder(target.dataDir)).filter((f) => !before.includes(f) && !f.startsWith('pglite'));
      expect(added).toEqual([expect.stringMatching(new RegExp(`^objects/[0-9a-f-]{36}/${doc.id}$`))]);
      const file = await download(rampart, `/v1/documents/${doc.id}/content`, auth);
      expect(file.headers['content-disposition']).toBe(`attachment; filename="passwd"; filename*=UTF-8''passwd`);
    });

    it('another tenant can neither read, download, delete nor find a document (404, absent), its owner still can', async () => {
      const owner = await signedIn('owner');
      const stranger = await signedIn('stranger');
      const doc = await uploaded(owner, 'secret-plan.txt', Buffer.from('the narwhal plan'));
      await extracted(owner, doc.id);
      for (const [method, path] of [['GET', `/v1/documents/${doc.id}`], ['GET', `/v1/documents/${doc.id}/content`], ['DELETE', `/v1/documents/${doc.id}`]]) {
        const res = await rampart.request(path!, { method, headers: stranger });
        expect(res.status, `${method} ${path}`).toBe(404);
        expect(res.json()).toMatchObject({ type: '/problems/document-not-found' });
      }
      expect((await search(stranger, 'narwhal')).total).toBe(0);
      expect((await list(stranger)).total).toBe(0);
      expect((await search(owner, 'narwhal')).total).toBe(1);
    });

    it('API keys: documents:read lists and downloads but cannot upload (403); documents:write uploads', async () => {
      const auth = await signedIn('keys');
      const mint = async (scopes: string[]) => (await postJson(rampart, '/v1/api-keys', { name: 'docs', scopes }, auth)).json<{ key: string }>().key;
      const reader = { 'x-api-key': await mint(['documents:read']) };
      const writer = { 'x-api-key': await mint(['documents:write']) };
      const denied = await uploadDocument(rampart, reader, 'a.txt', Buffer.from('hello'));
      expect(denied.status).toBe(403);
      expect(denied.json()).toMatchObject({ type: '/problems/insufficient-scope' });
      const doc = (await uploadDocument(rampart, writer, 'a.txt', Buffer.from('hello'))).json<Doc & { uploaded_by_api_key_id: string }>();
      expect(doc.uploaded_by_api_key_id).toEqual(expect.any(String));
      expect((await list(reader)).documents.map((d) => d.id)).toEqual([doc.id]);
      expect((await download(rampart, `/v1/documents/${doc.id}/content`, reader)).bytes.toString()).toBe('hello');
      expect((await rampart.request('/v1/documents')).status).toBe(401);
    });

    it('a deleted document is 404 at once; the purge job then removes its object and its row', async () => {
      const auth = await signedIn('purge');
      const doc = await uploaded(auth, 'old.txt', Buffer.from('to be purged'));
      const key = (await filesUnder(objectsDir())).find((f) => f.endsWith(doc.id))!;
      expect((await rampart.request(`/v1/documents/${doc.id}`, { method: 'DELETE', headers: auth })).status).toBe(204);
      expect((await rampart.request(`/v1/documents/${doc.id}`, { headers: auth })).status).toBe(404);
      expect((await rampart.request(`/v1/documents/${doc.id}`, { method: 'DELETE', headers: auth })).status).toBe(404);
      await expect.poll(async () => (await filesUnder(objectsDir())).includes(key), { timeout: 30_000, interval: 250 }).toBe(false);
      // PGlite is single-process: its rows can only be read through Rampart, which already hides this one.
      if (target.name === 'postgres') {
        await expect.poll(() => withDatabase(target, async (db) => (await db.selectFrom('documents').select('id').where('id', '=', doc.id).execute()).length), { timeout: 10_000 }).toBe(0);
      }
    });

    it('wrong input gets a 4xx problem, never a 500: bad ids, no multipart, no file field, bad queries', async () => {
      const auth = await signedIn('bad');
      const expectProblem = async (status: number, res: { status: number; headers: Record<string, unknown>; json(): unknown }) => {
        expect(res.status).toBe(status);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      };
      await expectProblem(400, await rampart.request('/v1/documents/not-a-uuid', { headers: auth }));
      await expectProblem(400, await rampart.request("/v1/documents/1'%20or%201=1--/content", { headers: auth }));
      await expectProblem(404, await rampart.request('/v1/documents/00000000-0000-4000-8000-000000000000', { headers: auth }));
      await expectProblem(415, await postJson(rampart, '/v1/documents', { file: 'x' }, auth));
      await expectProblem(400, await uploadDocument(rampart, auth, 'a.txt', Buffer.from('hi'), 'attachment'));
      await expectProblem(400, await uploadDocument(rampart, auth, 'empty.txt', Buffer.alloc(0)));
      await expectProblem(400, await rampart.request('/v1/documents/search?q=', { headers: auth }));
      await expectProblem(400, await rampart.request(`/v1/documents/search?q=${'a'.repeat(201)}`, { headers: auth }));
      await expectProblem(400, await postJson(rampart, '/v1/documents/search', { q: '   ' }, auth));
      await expectProblem(400, await rampart.request('/v1/documents?limit=1000', { headers: auth }));
      await expectProblem(422, await postJson(rampart, '/v1/documents/search', { q: 'x', limit: 'all' }, auth));
    });

    it('readiness reports the storage', async () => {
      expect((await rampart.request('/readiness')).json()).toMatchObject({ storage: { configured: true, ok: true, details: 'ok:local' } });
    });
  });
});
