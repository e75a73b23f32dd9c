import { DeleteObjectCommand, GetObjectCommand, paginateListObjectsV2, PutObjectCommand, S3Client, type ServerSideEncryption } from '@aws-sdk/client-s3';
import { observeS3Requests, type OutgoingObserver } from '../../platform/outgoing/outgoing-calls.js';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';
import { BackupError } from './backup-error.js';
import type { BackupStore } from './backup-store.js';

export interface S3BackupSettings {
  bucket: string;
  /** Key prefix without leading or trailing slash; may be empty. */
  prefix: string;
  region?: string | undefined;
  endpoint?: string | undefined;
  forcePathStyle: boolean;
  encryption: { algorithm: 'AES256' | 'aws:kms'; kmsKeyId?: string | undefined };
  /** Sees every HTTP request the client sends (tracing, in the worker's backup jobs). */
  observe?: OutgoingObserver | undefined;
}

// 16 MiB parts, two in flight: at most ~48 MiB buffered whatever the backup's size, and
// objects up to 160 GB within S3's 10,000 parts.
const PART_SIZE = 16 * 1024 * 1024;
const QUEUE_SIZE = 2;

/** Backups under an S3 prefix: multipart uploads from the stream, SSE on every object. */
export function createS3BackupStore(settings: S3BackupSettings, client?: S3Client): BackupStore {
  const s3 = client ?? new S3Client({
    region: settings.region,
    endpoint: settings.endpoint,
    forcePathStyle: settings.forcePathStyle,
    // As the documents driver: S3-compatible stores do not all accept flexible checksums.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  if (settings.observe) observeS3Requests(s3, settings.observe);
  const Bucket = settings.bucket;
  const keyOf = (name: string) => (settings.prefix ? `${settings.prefix}/${name}` : name);
  const sse = {
    ServerSideEncryption: settings.encryption.algorithm as ServerSideEncryption,
    ...(settings.encryption.algorithm === 'aws:kms' && settings.encryption.kmsKeyId ? { SSEKMSKeyId: settings.encryption.kmsKeyId } : {}),
  };
  const location = `s3://${Bucket}${settings.prefix ? `/${settings.prefix}` : ''}`;
  const get = async (name: string): Promise<Readable | undefined> => {
    try {
      const result = await s3.send(new GetObjectCommand({ Bucket, Key: keyOf(name) }));
      if (!(result.Body instanceof Readable)) throw new Error('S3 returned no readable body');
      return result.Body;
    } catch (error) {
      if ((error as Error).name === 'NoSuchKey' || (error as Error).name === 'NotFound') return undefined;
      throw error;
    }
  };
  const remove = async (name: string) => void (await s3.send(new DeleteObjectCommand({ Bucket, Key: keyOf(name) })));
  return {
    location,
    describe: (name) => `${location}/${name}`,
    async upload(name, body) {
      const upload = new Upload({
        client: s3,
        params: { Bucket, Key: keyOf(name), Body: body, ContentType: 'application/octet-stream', ...sse },
        partSize: PART_SIZE,
        queueSize: QUEUE_SIZE,
        // A failed upload is aborted: no parts left behind, no object created.
        leavePartsOnError: false,
      });
      // lib-storage does not watch the body for errors: a failing source must fail the upload.
      const failed = new Promise<never>((_, reject) => body.once('error', reject));
      failed.catch(() => {});
      try {
        await Promise.race([upload.done(), failed]);
      } catch (error) {
        await upload.abort().catch(() => undefined);
        throw error;
      }
      return {
        read: async () => {
          const stream = await get(name);
          if (!stream) throw new BackupError('failed', `${location}/${name} is missing right after its upload`);
          return stream;
        },
        // The metadata written next is what publishes a backup on S3.
        publish: async () => {},
        discard: () => remove(name).catch(() => undefined),
      };
    },
    async read(name) {
      const stream = await get(name);
      if (!stream) throw new BackupError('bad_input', `${location}/${name} does not exist`);
      return stream;
    },
    async readText(name) {
      const stream = await get(name);
      if (!stream) return undefined;
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    async writeText(name, text) {
      await s3.send(new PutObjectCommand({ Bucket, Key: keyOf(name), Body: text, ContentType: 'application/json', ...sse }));
    },
    async names() {
      const names: string[] = [];
      const Prefix = settings.prefix ? `${settings.prefix}/` : undefined;
      for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket, Prefix })) {
        for (const object of page.Contents ?? []) {
          const name = object.Key?.slice(Prefix?.length ?? 0);
          if (name && !name.includes('/')) names.push(name);
        }
      }
      return names;
    },
    remove,
  };
}

/** `s3://bucket/prefix` → bucket and prefix; undefined for a local path. */
export function parseS3Destination(destination: string): { bucket: string; prefix: string } | undefined {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(destination);
  if (!match) return undefined;
  return { bucket: match[1]!, prefix: match[2]!.replace(/\/+$/, '') };
}
