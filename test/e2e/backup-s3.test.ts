import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseTargets, type DatabaseTarget } from '../support/databases.js';
import { cli, onDatabase, seedLedger } from '../support/backup-fixtures.js';
import { startFakeS3, type FakeS3 } from '../support/fake-s3.js';

const SLOW = 240_000;
const [, postgres] = databaseTargets();

describe('backups to S3 (real AWS SDK against a local S3 server)', () => {
  let target: DatabaseTarget;
  let s3: FakeS3;
  let env: Record<string, string>;

  beforeAll(async () => {
    if (!postgres!.available) return;
    target = await postgres!.create();
    await seedLedger(target, 200);
    // 20 MiB that zstd cannot shrink: the encrypted file needs two 16 MiB multipart parts.
    await onDatabase(target, async (q) => {
      await q('create table attachments (id integer primary key, body bytea)');
      for (let i = 0; i < 20; i++) await q(`insert into attachments values (${i}, '\\x${randomBytes(1024 * 1024).toString('hex')}')`);
    });
    s3 = await startFakeS3();
    const { STORAGE_DRIVER: _driver, S3_BUCKET: _bucket, ...rest } = s3.env;
    env = { ...rest, S3_SSE: 'aws:kms', S3_SSE_KMS_KEY_ID: 'alias/backups' };
  }, SLOW);
  afterAll(async () => {
    await s3?.close();
    await target?.cleanup();
  });

  it('uploads in parts with SSE, then lists and drills from S3', async (ctx) => {
    ctx.skip(!postgres!.available, postgres!.skipReason);
    const made = await cli(target, ['backup', '--to', `s3://${s3.bucket}/prod/db`, '--json'], env);
    expect(made.code, made.stderr).toBe(0);
    const { id, file } = JSON.parse(made.stdout);
    expect(file).toBe(`s3://${s3.bucket}/prod/db/${id}.pgdump.zst.age`);
    const uploads = s3.requests.filter((r) => r.key === `prod/db/${id}.pgdump.zst.age`);
    expect(uploads.map((r) => r.operation)).toEqual(expect.arrayContaining(['CreateMultipartUpload', 'UploadPart', 'UploadPart', 'CompleteMultipartUpload']));
    expect(uploads.find((r) => r.operation === 'CreateMultipartUpload')!.sse).toBe('aws:kms');
    expect(s3.objects.get(`prod/db/${id}.json`)!.headers['x-amz-server-side-encryption-aws-kms-key-id']).toBe('alias/backups');

    const listed = await cli(target, ['backup', 'list', '--to', `s3://${s3.bucket}/prod/db`, '--json'], env);
    expect(JSON.parse(listed.stdout).backups.map((b: { id: string }) => b.id)).toEqual([id]);
    const verified = await cli(target, ['backup', 'verify', id, '--to', `s3://${s3.bucket}/prod/db`], env);
    expect(verified.code, verified.stderr).toBe(0);
    expect(s3.objects.has(`prod/db/${id}.verify.json`)).toBe(true);
  }, SLOW);

  it('S3 going away mid-upload fails the backup and leaves nothing `backup list` calls complete', async (ctx) => {
    ctx.skip(!postgres!.available, postgres!.skipReason);
    const before = new Set(s3.objects.keys());
    let parts = 0;
    const watch = setInterval(() => {
      parts = s3.requests.filter((r) => r.operation === 'UploadPart' && r.key.startsWith('outage/')).length;
      if (parts >= 1) s3.setDown(true);
    }, 5);
    try {
      const result = await cli(target, ['backup', '--to', `s3://${s3.bucket}/outage`], { ...env, AWS_MAX_ATTEMPTS: '2' });
      expect(result.code).toBe(1);
      expect(result.stderr).not.toMatch(/^\s+at /m);
    } finally {
      clearInterval(watch);
      s3.setDown(false);
    }
    expect(parts).toBeGreaterThanOrEqual(1);
    expect([...s3.objects.keys()].filter((k) => !before.has(k))).toEqual([]);
    const listed = await cli(target, ['backup', 'list', '--to', `s3://${s3.bucket}/outage`, '--json'], env);
    expect(JSON.parse(listed.stdout).backups).toEqual([]);
  }, SLOW);
});
