import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authEnv, bearer, logIn, signUp, uniqueEmail } from '../support/auth-client.js';
import { createPGliteTarget, type DatabaseTarget } from '../support/databases.js';
import { download, sha256, uploadDocument } from '../support/documents-client.js';
import { startFakeS3, type FakeS3 } from '../support/fake-s3.js';
import { startRampart, type RampartProcess } from '../support/rampart-process.js';
import { pdfWithText } from '../support/sample-documents.js';

const UPLOAD_MAX_BYTES = 16 * 1024 * 1024;

// The S3 driver is independent of the database; one embedded database is enough here.
describe('documents on S3 (the real AWS SDK against a local S3 server)', () => {
  let s3: FakeS3;
  let target: DatabaseTarget;
  let rampart: RampartProcess;
  let auth: Record<string, string>;
  beforeAll(async () => {
    s3 = await startFakeS3();
    target = await createPGliteTarget();
    rampart = await startRampart({ args: ['serve', '--with-worker'], env: authEnv(target, { ...s3.env, UPLOAD_MAX_BYTES: String(UPLOAD_MAX_BYTES) }) });
    const email = uniqueEmail('s3');
    await signUp(rampart, email);
    auth = bearer((await logIn(rampart, email)).access_token);
  });
  afterAll(async () => {
    await rampart?.stop();
    await target?.cleanup();
    await s3?.close();
  });

  it('a 12 MiB upload goes up as a multipart upload with SSE AES256 and downloads byte-identical', async () => {
    const bytes = Buffer.concat([pdfWithText('Striped okapi survey'), randomBytes(12 * 1024 * 1024)]);
    const res = await uploadDocument(rampart, auth, 'survey.pdf', bytes);
    expect(res.status, res.body).toBe(201);
    const doc = res.json<{ id: string; sha256: string }>();
    expect(doc.sha256).toBe(sha256(bytes));

    const calls = s3.requests.filter((r) => r.key.endsWith(doc.id));
    expect(calls[0]).toEqual({ operation: 'CreateMultipartUpload', key: expect.stringMatching(/^[0-9a-f-]{36}\/[0-9a-f-]{36}$/), sse: 'AES256' });
    expect(calls.filter((r) => r.operation === 'UploadPart').length).toBeGreaterThanOrEqual(2);
    expect(calls.some((r) => r.operation === 'CompleteMultipartUpload')).toBe(true);
    expect(s3.objects.get(calls[0]!.key)?.headers['x-amz-server-side-encryption']).toBe('AES256');

    const file = await download(rampart, `/v1/documents/${doc.id}/content`, auth);
    expect(sha256(file.bytes)).toBe(sha256(bytes));
  });

  it('a small document is read back from S3 by the extraction job and becomes searchable', async () => {
    const res = await uploadDocument(rampart, auth, 'notes.txt', Buffer.from('the quokka census'));
    const doc = res.json<{ id: string }>();
    await expect.poll(async () => (await rampart.request(`/v1/documents/${doc.id}`, { headers: auth })).json<{ status: string }>().status, { timeout: 30_000, interval: 200 }).toBe('extracted');
    const found = await rampart.request('/v1/documents/search?q=quokka', { headers: auth });
    expect(found.json<{ results: Array<{ id: string }> }>().results.map((r) => r.id)).toEqual([doc.id]);
  });

  it('an oversized upload is 413 and leaves no object and no open multipart upload; nothing goes to local disk', async () => {
    const before = s3.objects.size;
    const res = await uploadDocument(rampart, auth, 'huge.txt', Buffer.alloc(UPLOAD_MAX_BYTES + 1024 * 1024, 0x61));
    expect(res.status).toBe(413);
    await expect.poll(() => s3.openUploads()).toBe(0);
    expect(s3.objects.size).toBe(before);
    expect(await readdir(join(target.dataDir, 'objects')).catch(() => [])).toEqual([]);
  });

  it('readiness reports ok:s3, and degraded (not unavailable) with the error class while S3 is down', async () => {
    expect((await rampart.request('/readiness')).json()).toMatchObject({ status: 'ok', storage: { ok: true, details: 'ok:s3' } });
    s3.setDown(true);
    try {
      const res = await rampart.request('/readiness');
      expect(res.status).toBe(200);
      expect(res.json()).toMatchObject({ status: 'degraded', storage: { ok: false } });
      expect(res.body).not.toContain('fake-secret-access-key');
      const upload = await uploadDocument(rampart, auth, 'a.txt', Buffer.from('hello'));
      expect(upload.status).toBe(503);
      expect(upload.json()).toMatchObject({ type: '/problems/storage-unavailable' });
    } finally {
      s3.setDown(false);
    }
  });
});
