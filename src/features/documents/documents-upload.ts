import { randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { MultipartFile } from '@fastify/multipart';
import { HttpProblem } from '../../platform/http/problem.js';
import { callerOf, requirePermission } from '../auth/index.js';
import type { DocumentsDeps } from './documents-deps.js';
import { bearerOrApiKey, DocumentSchema, documentView, storageUnavailable } from './documents-schemas.js';
import { insertDocument } from './documents-store.js';
import { sanitiseFileName } from './file-name.js';
import { EXTRACT_TEXT_JOB, type ExtractTextPayload } from './jobs.js';
import { isExtractable } from './text-extraction.js';
import { createUploadInspector } from './upload-inspector.js';
import { documentStorageKey } from './storage-key.js';

const FILE_FIELD = 'file';

function multipartRequired(): HttpProblem {
  return new HttpProblem(415, 'multipart-required', `Send the document as multipart/form-data in a field named "${FILE_FIELD}" (curl -F ${FILE_FIELD}=@report.pdf).`);
}

const mediaTypeOf = (request: FastifyRequest) => (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();

/** The request's first file part, or a 400 problem for a body that has none or is malformed. */
async function filePart(request: FastifyRequest, maxBytes: number): Promise<MultipartFile> {
  let part: MultipartFile | undefined;
  try {
    part = await request.file({
      // One byte over the limit reaches the inspector, which answers 413; busboy stops there.
      limits: { fileSize: maxBytes + 1, files: 1, fields: 10, fieldSize: 1_024, parts: 12, headerPairs: 50 },
      throwFileSizeLimit: false,
    });
  } catch (error) {
    request.log.info({ err: error }, 'malformed multipart upload');
    throw new HttpProblem(400, 'malformed-multipart', 'The multipart body could not be read.');
  }
  if (!part) throw new HttpProblem(400, 'file-missing', `The multipart body has no file; send it in a field named "${FILE_FIELD}".`);
  if (part.fieldname !== FILE_FIELD) {
    part.file.resume();
    throw new HttpProblem(400, 'file-missing', `Send the file in a field named "${FILE_FIELD}", not "${part.fieldname.slice(0, 40)}".`);
  }
  return part;
}

/**
 * A body cut short or a connection dropped mid-upload is the client's doing, not an outage:
 * logged below error level, answered 400 (a client that has gone never reads it).
 */
function clientBrokeTheUpload(request: FastifyRequest, error: Error): HttpProblem {
  if (request.raw.readableAborted || request.raw.socket?.destroyed) {
    request.log.info({ reason: error.message }, 'upload abandoned by the client');
  } else {
    request.log.info({ reason: error.message }, 'incomplete multipart upload');
  }
  return new HttpProblem(400, 'malformed-multipart', 'The multipart body ended before the file did; send the whole body, closed by its final boundary.');
}

/**
 * `POST /v1/documents`: the file streams through a size limit, a SHA-256 and a type check into
 * storage under a generated key; only then is the row written, in one transaction with its
 * extraction job. Any refusal (401/403, 400, 413, 415) leaves no row and no object.
 */
export async function uploadDocumentRoute(app: FastifyInstance, deps: DocumentsDeps): Promise<void> {
  app.post('/v1/documents', {
    // Before the body parsers, which would refuse a raw file with a hint meant for JSON routes.
    preParsing: async (request) => {
      if (mediaTypeOf(request) !== 'multipart/form-data') throw multipartRequired();
    },
    preHandler: requirePermission(deps.access, 'documents:write'),
    schema: {
      summary: 'Upload a document (multipart/form-data, field "file"). Needs documents:write.',
      description: 'The type is read from the content (PDF, PNG, JPEG, GIF, WebP; UTF-8 text as .txt, .md, .html, .csv, .json); anything else is 415. Over UPLOAD_MAX_BYTES is 413.',
      tags: ['documents'],
      security: bearerOrApiKey,
      consumes: ['multipart/form-data'],
      response: { 201: DocumentSchema },
    },
  }, async (request, reply) => {
    const caller = callerOf(request);
    const part = await filePart(request, deps.uploadMaxBytes);
    const name = sanitiseFileName(part.filename);
    const inspector = createUploadInspector({ maxBytes: deps.uploadMaxBytes, fileName: name });
    // The upload's own failure (a body cut short, a dropped connection) reaches the file stream
    // while the inspector is whole; a failure of storage tears the pipeline down from the other
    // end, so the inspector is already destroyed when it reaches the file stream.
    let brokenUpload: Error | undefined;
    part.file.once('error', (error) => {
      if (!inspector.stream.destroyed) brokenUpload = error;
    });
    const id = randomUUID();
    // The key says whose it is and nothing the client chose.
    const storageKey = documentStorageKey(caller.tenantId, id);

    try {
      await deps.storage.put(storageKey, pipeline(part.file, inspector.stream, () => undefined));
    } catch (error) {
      // A put that failed part-way stored nothing; deleting again costs little and covers a store that disagrees.
      await deps.storage.delete(storageKey).catch(() => undefined);
      const refusal = inspector.refusal();
      if (refusal) {
        // The rest of an oversized body is not worth reading: answer, then close the connection.
        if (refusal.status === 413) reply.header('connection', 'close');
        throw refusal;
      }
      if (brokenUpload || request.raw.readableAborted) throw clientBrokeTheUpload(request, brokenUpload ?? (error as Error));
      request.log.error({ err: error, storage: deps.storage.driver }, 'could not store an upload');
      throw storageUnavailable();
    }

    const inspected = inspector.result();
    let row;
    try {
      row = await deps.db.transaction().execute(async (trx) => {
        const inserted = await insertDocument(trx, {
          id,
          tenantId: caller.tenantId,
          uploadedByUserId: caller.kind === 'user' && !caller.external ? caller.userId : null,
          uploadedByApiKeyId: caller.kind === 'api_key' ? caller.keyId : null,
          originalName: name,
          contentType: inspected.type.contentType,
          sizeBytes: inspected.sizeBytes,
          sha256: inspected.sha256,
          storageKey,
        });
        if (isExtractable(inspected.type.contentType)) {
          const payload: ExtractTextPayload = { documentId: id };
          await deps.queue.enqueue(trx, EXTRACT_TEXT_JOB, payload, { idempotencyKey: id, correlationId: String(request.id) });
        }
        return inserted;
      });
    } catch (error) {
      await deps.storage.delete(storageKey).catch((err: unknown) => request.log.warn({ err, storage_key: storageKey }, 'could not remove the object of a failed upload'));
      throw error;
    }
    request.log.info({ document_id: id, size_bytes: inspected.sizeBytes, content_type: inspected.type.contentType }, 'document uploaded');
    reply.code(201).header('location', `/v1/documents/${id}`).header('cache-control', 'no-store');
    return documentView(row);
  });
}
