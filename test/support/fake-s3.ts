import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { outageSwitch } from './outage-switch.js';

/**
 * A local stand-in for the subset of the S3 REST API that object storage uses, speaking the
 * real protocol (path-style URLs, XML answers), so tests run the genuine `@aws-sdk/client-s3`
 * and `@aws-sdk/lib-storage` against it: PutObject, GetObject, DeleteObject, HeadBucket,
 * ListObjectsV2 (paged by continuation token) and multipart uploads (Create, UploadPart,
 * Complete, Abort, ListMultipartUploads). Signatures are not checked.
 * Chosen over an npm emulator: `s3rver`, the maintained-looking one, pulls in busboy 0.3
 * (dicer), which `npm audit --audit-level=high` flags.
 */
export interface FakeS3 {
  url: string;
  bucket: string;
  /** Env for a Rampart process storing into this server. */
  env: Record<string, string>;
  objects: Map<string, { body: Buffer; headers: Record<string, string>; modified: Date }>;
  /** Every request: the S3 operation, the key and the SSE header it carried. */
  requests: Array<{ operation: string; key: string; sse: string | undefined }>;
  /** Multipart uploads begun and neither completed nor aborted. */
  openUploads(): number;
  /** The same, by upload id: tests backdate `initiated` to age one. */
  uploads: Map<string, PendingUpload>;
  setDown(down: boolean): void;
  close(): Promise<void>;
}

export interface PendingUpload { key: string; parts: Map<number, Buffer>; headers: Record<string, string>; initiated: Date }

const MIN_PART_BYTES = 5 * 1024 * 1024;

export async function startFakeS3(bucket = 'rampart-test'): Promise<FakeS3> {
  const objects: FakeS3['objects'] = new Map();
  const uploads = new Map<string, PendingUpload>();
  const requests: FakeS3['requests'] = [];

  const xml = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/xml', 'x-amz-request-id': randomUUID(), ...headers });
    res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
  };
  const s3Error = (res: ServerResponse, status: number, code: string, message: string) =>
    xml(res, status, `<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${randomUUID()}</RequestId></Error>`);
  const etagOf = (body: Buffer) => `"${createHash('md5').update(body).digest('hex')}"`;
  const sseHeaders = (headers: IncomingMessage['headers']) => {
    const kept: Record<string, string> = {};
    for (const name of ['x-amz-server-side-encryption', 'x-amz-server-side-encryption-aws-kms-key-id']) {
      const value = headers[name];
      if (typeof value === 'string') kept[name] = value;
    }
    return kept;
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (outage.isDown()) return void req.socket.destroy();
      const url = new URL(req.url ?? '/', 'http://fake');
      const [, bucketName = '', ...rest] = url.pathname.split('/');
      const key = rest.map(decodeURIComponent).join('/');
      const body = Buffer.concat(chunks);
      const method = req.method ?? 'GET';
      const query = url.searchParams;
      const operation = !key
        ? (method === 'GET' && query.get('list-type') === '2' ? 'ListObjectsV2' : method === 'GET' && query.has('uploads') ? 'ListMultipartUploads' : `${method}Bucket`)
        : query.has('uploads') ? 'CreateMultipartUpload'
          : query.has('partNumber') ? 'UploadPart'
            : query.has('uploadId') ? (method === 'POST' ? 'CompleteMultipartUpload' : method === 'DELETE' ? 'AbortMultipartUpload' : 'ListParts')
              : `${method}Object`;
      requests.push({ operation, key, sse: req.headers['x-amz-server-side-encryption'] as string | undefined });
      if (bucketName !== bucket) return s3Error(res, 404, 'NoSuchBucket', 'The specified bucket does not exist');
      const sse = sseHeaders(req.headers);

      switch (operation) {
        case 'HEADBucket':
          res.writeHead(200, { 'x-amz-bucket-region': 'us-east-1' });
          return void res.end();
        case 'ListObjectsV2': {
          // Keys in UTF-8 byte order, as S3 lists them; the token is the last key of the previous page.
          const prefix = query.get('prefix') ?? '';
          const maxKeys = Math.min(Number(query.get('max-keys') ?? 1000), 1000);
          const after = query.get('continuation-token') ?? query.get('start-after') ?? '';
          const keys = [...objects.keys()].filter((k) => k.startsWith(prefix) && k > after).sort();
          const page = keys.slice(0, maxKeys);
          const truncated = keys.length > maxKeys;
          const contents = page.map((k) => {
            const object = objects.get(k)!;
            return `<Contents><Key>${k}</Key><LastModified>${object.modified.toISOString()}</LastModified><ETag>${etagOf(object.body)}</ETag><Size>${object.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
          }).join('');
          const next = truncated ? `<NextContinuationToken>${page.at(-1)}</NextContinuationToken>` : '';
          return xml(res, 200, `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${bucket}</Name><Prefix>${prefix}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${contents}${next}</ListBucketResult>`);
        }
        case 'ListMultipartUploads': {
          // Ordered by key, then upload id; the markers say where the previous page ended.
          const maxUploads = Math.min(Number(query.get('max-uploads') ?? 1000), 1000);
          const keyMarker = query.get('key-marker') ?? '';
          const idMarker = query.get('upload-id-marker') ?? '';
          const all = [...uploads.entries()].map(([id, u]) => ({ id, ...u }))
            .sort((a, b) => (a.key === b.key ? (a.id < b.id ? -1 : 1) : a.key < b.key ? -1 : 1))
            .filter((u) => u.key > keyMarker || (u.key === keyMarker && idMarker !== '' && u.id > idMarker));
          const page = all.slice(0, maxUploads);
          const truncated = all.length > maxUploads;
          const entries = page.map((u) => `<Upload><Key>${u.key}</Key><UploadId>${u.id}</UploadId><Initiated>${u.initiated.toISOString()}</Initiated><StorageClass>STANDARD</StorageClass></Upload>`).join('');
          const next = truncated ? `<NextKeyMarker>${page.at(-1)!.key}</NextKeyMarker><NextUploadIdMarker>${page.at(-1)!.id}</NextUploadIdMarker>` : '';
          return xml(res, 200, `<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${bucket}</Bucket><KeyMarker>${keyMarker}</KeyMarker><UploadIdMarker>${idMarker}</UploadIdMarker><MaxUploads>${maxUploads}</MaxUploads><IsTruncated>${truncated}</IsTruncated>${next}${entries}</ListMultipartUploadsResult>`);
        }
        case 'PUTObject':
          objects.set(key, { body, headers: sse, modified: new Date() });
          return xml(res, 200, '', { etag: etagOf(body), ...sse });
        case 'GETObject': {
          const object = objects.get(key);
          if (!object) return s3Error(res, 404, 'NoSuchKey', 'The specified key does not exist.');
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(object.body.length), etag: etagOf(object.body), ...object.headers });
          return void res.end(object.body);
        }
        case 'DELETEObject':
          objects.delete(key);
          res.writeHead(204);
          return void res.end();
        case 'CreateMultipartUpload': {
          const uploadId = randomUUID();
          uploads.set(uploadId, { key, parts: new Map(), headers: sse, initiated: new Date() });
          return xml(res, 200, `<InitiateMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${key}</Key><UploadId>${uploadId}</UploadId></InitiateMultipartUploadResult>`, sse);
        }
        case 'UploadPart': {
          const upload = uploads.get(query.get('uploadId') ?? '');
          if (!upload) return s3Error(res, 404, 'NoSuchUpload', 'The specified upload does not exist.');
          upload.parts.set(Number(query.get('partNumber')), body);
          res.writeHead(200, { etag: etagOf(body), ...upload.headers });
          return void res.end();
        }
        case 'CompleteMultipartUpload': {
          const uploadId = query.get('uploadId') ?? '';
          const upload = uploads.get(uploadId);
          if (!upload) return s3Error(res, 404, 'NoSuchUpload', 'The specified upload does not exist.');
          const numbers = [...body.toString('utf8').matchAll(/<PartNumber>(\d+)<\/PartNumber>/g)].map((m) => Number(m[1]));
          const parts = numbers.map((n) => upload.parts.get(n));
          if (parts.some((p) => p === undefined)) return s3Error(res, 400, 'InvalidPart', 'One or more of the specified parts could not be found.');
          // S3's rule: every part but the last is at least 5 MiB.
          if (parts.slice(0, -1).some((p) => p!.length < MIN_PART_BYTES)) return s3Error(res, 400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.');
          const assembled = Buffer.concat(parts as Buffer[]);
          objects.set(upload.key, { body: assembled, headers: upload.headers, modified: new Date() });
          uploads.delete(uploadId);
          return xml(res, 200, `<CompleteMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${upload.key}</Key><ETag>${etagOf(assembled)}</ETag></CompleteMultipartUploadResult>`, upload.headers);
        }
        case 'AbortMultipartUpload':
          uploads.delete(query.get('uploadId') ?? '');
          res.writeHead(204);
          return void res.end();
        default:
          return s3Error(res, 501, 'NotImplemented', `fake-s3 does not implement ${operation}`);
      }
    });
  });
  const outage = outageSwitch(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    bucket,
    env: {
      STORAGE_DRIVER: 's3',
      S3_BUCKET: bucket,
      S3_ENDPOINT: url,
      S3_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKE',
      AWS_SECRET_ACCESS_KEY: 'fake-secret-access-key',
      // No shared config files or instance metadata: the chain stops at the env credentials.
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    objects,
    requests,
    openUploads: () => uploads.size,
    uploads,
    setDown: outage.setDown,
    close: outage.close,
  };
}
