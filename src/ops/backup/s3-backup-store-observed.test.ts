import { Readable } from 'node:stream';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeS3, type FakeS3 } from '../../../test/support/fake-s3.js';
import type { OutgoingCall } from '../../platform/outgoing/outgoing-calls.js';
import { createS3BackupStore } from './s3-backup-store.js';

// The worker's backup jobs hand the store the platform's observer, as documents' storage
// gets it: each HTTP request to S3 is one observed call (a span when tracing is on).
describe('the S3 backup store, observed (real AWS SDK against a local S3 server)', () => {
  let fake: FakeS3;
  beforeAll(async () => {
    fake = await startFakeS3();
  });
  afterAll(async () => {
    await fake?.close();
  });

  it('reports every request with its operation, method and host, and the failures with their error', async () => {
    const calls: Array<OutgoingCall & { error?: unknown; ended: boolean }> = [];
    const observe = (call: OutgoingCall) => {
      const seen = { ...call, ended: false as boolean, error: undefined as unknown };
      calls.push(seen);
      return (error?: unknown) => {
        seen.ended = true;
        seen.error = error;
      };
    };
    const client = new S3Client({ endpoint: fake.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'AKIAFAKEFAKEFAKE', secretAccessKey: 'fake' }, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
    const store = createS3BackupStore({ bucket: fake.bucket, prefix: 'observed', forcePathStyle: true, encryption: { algorithm: 'AES256' }, observe }, client);

    const pending = await store.upload('one.age', Readable.from([Buffer.from('sealed bytes')]));
    await pending.publish();
    await expect(store.read('missing.age')).rejects.toThrow();

    const put = calls.find((c) => c.name === 'S3 PutObject');
    expect(put).toMatchObject({ ended: true, error: undefined, attributes: { 'rpc.service': 'S3', 'rpc.method': 'PutObject', 'http.request.method': 'PUT', 'server.address': '127.0.0.1' } });
    const get = calls.find((c) => c.name === 'S3 GetObject');
    expect(get?.ended).toBe(true);
    expect(get?.error).toBeInstanceOf(Error);
    // Keys are data, not attributes.
    expect(JSON.stringify(calls)).not.toContain('one.age');
  });
});
