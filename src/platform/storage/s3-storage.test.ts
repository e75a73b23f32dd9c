import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { CreateMultipartUploadCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeS3, type FakeS3 } from '../../../test/support/fake-s3.js';
import { ObjectNotFound, type ObjectStorage } from './object-storage.js';
import { createS3Storage } from './s3-storage.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const readAll = async (stream: Readable) => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};
/** `bytes` as a stream of 64 KiB chunks, the way an HTTP upload arrives. */
const streamOf = (bytes: Buffer) => Readable.from((function* () {
  for (let i = 0; i < bytes.length; i += 65_536) yield bytes.subarray(i, i + 65_536);
})());

describe('S3 object storage (real AWS SDK against a local S3 server)', () => {
  let fake: FakeS3;
  let storage: ObjectStorage;
  const clientFor = (url: string) => new S3Client({
    endpoint: url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'AKIAFAKEFAKEFAKE', secretAccessKey: 'fake' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });

  beforeAll(async () => {
    fake = await startFakeS3();
    storage = createS3Storage({ bucket: fake.bucket, region: 'us-east-1', forcePathStyle: true, encryption: { algorithm: 'AES256' }, client: clientFor(fake.url) });
  });
  afterAll(async () => fake.close());

  it('stores a small object in one PutObject with SSE AES256, and reads it back', async () => {
    const bytes = Buffer.from('quarterly zebra report');
    expect(await storage.put('tenant-a/doc-1', streamOf(bytes))).toEqual({ sizeBytes: bytes.length });
    expect(fake.requests.filter((r) => r.key === 'tenant-a/doc-1').map((r) => [r.operation, r.sse])).toEqual([['PUTObject', 'AES256']]);
    expect((await readAll(await storage.get('tenant-a/doc-1'))).equals(bytes)).toBe(true);
  });

  it('streams a 12 MiB object as a multipart upload, every part under SSE, byte-identical back', async () => {
    const bytes = randomBytes(12 * 1024 * 1024 + 123);
    expect(await storage.put('tenant-a/big', streamOf(bytes))).toEqual({ sizeBytes: bytes.length });
    const calls = fake.requests.filter((r) => r.key === 'tenant-a/big');
    expect(calls.map((r) => r.operation)).toEqual(['CreateMultipartUpload', 'UploadPart', 'UploadPart', 'CompleteMultipartUpload']);
    expect(calls[0]!.sse).toBe('AES256');
    expect(fake.objects.get('tenant-a/big')?.headers['x-amz-server-side-encryption']).toBe('AES256');
    expect(sha256(await readAll(await storage.get('tenant-a/big')))).toBe(sha256(bytes));
  });

  it('asks for KMS with the configured key when S3_SSE=aws:kms', async () => {
    const kms = createS3Storage({ bucket: fake.bucket, region: 'us-east-1', forcePathStyle: true, encryption: { algorithm: 'aws:kms', kmsKeyId: 'alias/rampart' }, client: clientFor(fake.url) });
    await kms.put('tenant-a/kms', streamOf(Buffer.from('x')));
    expect(fake.objects.get('tenant-a/kms')?.headers).toEqual({ 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': 'alias/rampart' });
  });

  it('aborts the multipart upload when the source fails part-way: no object, no parts left', async () => {
    const failing = Readable.from((async function* () {
      for (let i = 0; i < 200; i++) yield randomBytes(65_536);
      throw new Error('client went away');
    })());
    await expect(storage.put('tenant-a/broken', failing)).rejects.toThrow();
    expect(fake.objects.has('tenant-a/broken')).toBe(false);
    await expect.poll(() => fake.openUploads()).toBe(0);
  });

  it('reports a missing object as ObjectNotFound and deletes idempotently', async () => {
    await storage.put('tenant-a/gone', streamOf(Buffer.from('bye')));
    await storage.delete('tenant-a/gone');
    await storage.delete('tenant-a/gone');
    await expect(storage.get('tenant-a/gone')).rejects.toBeInstanceOf(ObjectNotFound);
  });

  it('lists every object with its last-modified time, following continuation tokens across pages', async () => {
    const modified = new Date('2026-11-30T10:00:00.000Z');
    const keys = Array.from({ length: 2_345 }, (_, i) => `tenant-list/obj-${String(i).padStart(5, '0')}`);
    for (const key of keys) fake.objects.set(key, { body: Buffer.from(key), headers: {}, modified });
    try {
      const before = fake.requests.length;
      const listed = [];
      for await (const object of storage.list()) if (object.key.startsWith('tenant-list/')) listed.push(object);
      expect(listed.map((o) => o.key).sort()).toEqual(keys);
      expect(listed.every((o) => o.lastModified.getTime() === modified.getTime())).toBe(true);
      // 1,000 keys a page: the other tests' objects push it to three requests at least.
      expect(fake.requests.slice(before).filter((r) => r.operation === 'ListObjectsV2').length).toBeGreaterThanOrEqual(3);
    } finally {
      for (const key of keys) fake.objects.delete(key);
    }
  });

  it('aborts multipart uploads begun before the cut-off whose key is ours, across pages, and leaves the rest', async () => {
    const client = clientFor(fake.url);
    const begin = async (Key: string) => (await client.send(new CreateMultipartUploadCommand({ Bucket: fake.bucket, Key }))).UploadId!;
    const [oursOld, oursYoung, foreignOld] = [await begin('docs/old'), await begin('docs/young'), await begin('backups/old')];
    const dayAgo = new Date(Date.now() - 86_400_000);
    for (const id of [oursOld, foreignOld]) fake.uploads.get(id)!.initiated = dayAgo;
    // Enough stale uploads of ours for ListMultipartUploads to page (1,000 a page).
    const filler = Array.from({ length: 1_200 }, (_, i) => `filler-${String(i).padStart(4, '0')}`);
    for (const id of filler) fake.uploads.set(id, { key: `docs/filler-${id}`, parts: new Map(), headers: {}, initiated: dayAgo });

    const removed = await storage.removeAbandonedWrites(new Date(Date.now() - 3_600_000), (key) => key.startsWith('docs/'));

    expect(removed).toBe(1 + filler.length);
    expect([...fake.uploads.keys()].sort()).toEqual([oursYoung, foreignOld].sort());
    for (const id of [oursYoung, foreignOld]) fake.uploads.delete(id);
  });

  it('refuses keys that could escape their prefix before any request', async () => {
    const before = fake.requests.length;
    await expect(storage.put('../etc/passwd', streamOf(Buffer.from('x')))).rejects.toThrow(/invalid object key/);
    expect(fake.requests.length).toBe(before);
  });

  it('readiness: ok:s3, then the error class (no message, no secret) when the bucket is missing or S3 is down', async () => {
    expect(await storage.check()).toEqual({ configured: true, ok: true, details: 'ok:s3' });
    const missing = createS3Storage({ bucket: 'no-such-bucket', region: 'us-east-1', forcePathStyle: true, encryption: { algorithm: 'AES256' }, client: clientFor(fake.url) });
    expect(await missing.check()).toEqual({ configured: true, ok: false, details: 'error: NotFound' });
    fake.setDown(true);
    try {
      const status = await storage.check();
      expect(status.ok).toBe(false);
      expect(status.details).not.toContain('fake');
    } finally {
      fake.setDown(false);
    }
  });
});
