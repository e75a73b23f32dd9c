import { AbortMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, ListMultipartUploadsCommand, paginateListObjectsV2, S3Client, type ServerSideEncryption } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable, Transform } from 'node:stream';
import { observeS3Requests, type OutgoingObserver } from '../outgoing/outgoing-calls.js';
import { assertObjectKey, ObjectNotFound, type ObjectStorage, type StoredObject } from './object-storage.js';

export interface S3StorageOptions {
  bucket: string;
  /** Any S3-compatible endpoint (MinIO, R2, Ceph…); unset: AWS's endpoint for the region. */
  endpoint?: string | undefined;
  /** Unset: the AWS chain (`AWS_REGION`). */
  region?: string | undefined;
  forcePathStyle: boolean;
  /** Server-side encryption of every object: S3-managed keys (`AES256`) or KMS (`aws:kms`, optionally with a key id). */
  encryption: { algorithm: 'AES256' | 'aws:kms'; kmsKeyId?: string | undefined };
  /** For tests; otherwise built from the options with credentials from the default AWS chain. */
  client?: S3Client;
  /** Sees every HTTP request the client sends (tracing). */
  observe?: OutgoingObserver | undefined;
}

// Multipart parts are buffered: at most PART_SIZE × (QUEUE_SIZE + 1) bytes per upload in
// memory (≈ 24 MiB), whatever the object's size. 8 MiB parts allow objects up to 80 GB.
const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 2;

/** Objects in one S3 bucket: multipart uploads from a stream, SSE on every object. */
export function createS3Storage(options: S3StorageOptions): ObjectStorage {
  const client = options.client ?? new S3Client({
    region: options.region,
    endpoint: options.endpoint,
    forcePathStyle: options.forcePathStyle,
    // S3-compatible stores do not all accept the SDK's default flexible checksums (aws-chunked
    // bodies with trailers); send them only where S3 requires them. TLS and MD5-free SigV4
    // payload hashing still protect the bytes in transit.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  if (options.observe) observeS3Requests(client, options.observe);
  const Bucket = options.bucket;
  const encryption = {
    ServerSideEncryption: options.encryption.algorithm as ServerSideEncryption,
    ...(options.encryption.algorithm === 'aws:kms' && options.encryption.kmsKeyId ? { SSEKMSKeyId: options.encryption.kmsKeyId } : {}),
  };

  return {
    driver: 's3',
    async put(key, body, putOptions = {}) {
      assertObjectKey(key);
      let sizeBytes = 0;
      const counted = body.pipe(new Transform({
        transform(chunk: Buffer, _encoding, done) {
          sizeBytes += chunk.length;
          done(null, chunk);
        },
      }));
      // pipe() does not forward errors: a failing source (size limit, aborted request) must fail the upload.
      body.once('error', (error) => counted.destroy(error));
      const upload = new Upload({
        client,
        params: { Bucket, Key: key, Body: counted, ContentType: putOptions.contentType, ...encryption },
        partSize: PART_SIZE,
        queueSize: QUEUE_SIZE,
        // A failed multipart upload is aborted, so no invisible parts keep costing storage.
        leavePartsOnError: false,
      });
      await upload.done();
      return { sizeBytes };
    },
    async get(key) {
      assertObjectKey(key);
      try {
        const result = await client.send(new GetObjectCommand({ Bucket, Key: key }));
        if (!(result.Body instanceof Readable)) throw new Error('S3 returned no readable body');
        return result.Body;
      } catch (error) {
        if ((error as Error).name === 'NoSuchKey' || (error as Error).name === 'NotFound') throw new ObjectNotFound(key);
        throw error;
      }
    },
    async delete(key) {
      assertObjectKey(key);
      await client.send(new DeleteObjectCommand({ Bucket, Key: key }));
    },
    async *list(): AsyncIterable<StoredObject> {
      for await (const page of paginateListObjectsV2({ client }, { Bucket })) {
        for (const object of page.Contents ?? []) {
          if (object.Key !== undefined && object.LastModified !== undefined) yield { key: object.Key, lastModified: object.LastModified };
        }
      }
    },
    async removeAbandonedWrites(olderThan, owns) {
      // A multipart upload that is never completed or aborted keeps its parts (and their cost)
      // forever. Another application's upload in a shared bucket may legitimately run for hours:
      // only keys we own are touched.
      let removed = 0;
      let KeyMarker: string | undefined;
      let UploadIdMarker: string | undefined;
      do {
        const page = await client.send(new ListMultipartUploadsCommand({ Bucket, KeyMarker, UploadIdMarker }));
        for (const upload of page.Uploads ?? []) {
          if (!upload.Key || !upload.UploadId || !upload.Initiated || upload.Initiated >= olderThan || !owns(upload.Key)) continue;
          await client.send(new AbortMultipartUploadCommand({ Bucket, Key: upload.Key, UploadId: upload.UploadId }));
          removed++;
        }
        KeyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
        UploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
      } while (KeyMarker !== undefined);
      return removed;
    },
    async check() {
      try {
        await client.send(new HeadBucketCommand({ Bucket }));
        return { configured: true, ok: true, details: 'ok:s3' };
      } catch (error) {
        return { configured: true, ok: false, details: `error: ${s3FailureReason(error)}` };
      }
    },
  };
}

/** The error's class or socket code, never its message (which can quote a bucket policy or a host). */
export function s3FailureReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code && /^E[A-Z]+$/.test(code)) return code;
  const name = (error as Error | undefined)?.name;
  return name && name !== 'Error' ? name : 'unreachable';
}
