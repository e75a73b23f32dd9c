import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { HttpProblem } from '../../platform/http/problem.js';
import { ObjectNotFound } from '../../platform/storage/object-storage.js';
import { callerOf, requirePermission } from '../auth/index.js';
import type { DocumentsDeps } from './documents-deps.js';
import { bearerOrApiKey, DocumentIdParams, documentNotFound, storageUnavailable } from './documents-schemas.js';
import { findDocument } from './documents-store.js';
import { attachmentDisposition } from './file-name.js';

/**
 * `GET /v1/documents/:id/content`: the bytes, streamed from storage, always as an attachment of
 * the sniffed type with `nosniff` and a sandboxing CSP, so an uploaded HTML page can never run
 * in Rampart's origin.
 */
export async function downloadDocumentRoute(app: FastifyInstance, deps: DocumentsDeps): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().get('/v1/documents/:id/content', {
    preHandler: requirePermission(deps.access, 'documents:read'),
    schema: {
      summary: 'Download a document\'s content (as an attachment). Needs documents:read.',
      tags: ['documents'],
      security: bearerOrApiKey,
      params: DocumentIdParams,
    },
  }, async (request, reply) => {
    const doc = await findDocument(deps.db, callerOf(request).tenantId, request.params.id);
    if (!doc) throw documentNotFound();
    let content;
    try {
      content = await deps.storage.get(doc.storage_key);
    } catch (error) {
      if (error instanceof ObjectNotFound) {
        request.log.error({ document_id: doc.id, storage: deps.storage.driver }, 'a live document has no stored object');
        throw new HttpProblem(404, 'document-content-missing', 'This document\'s content is missing from storage; upload it again.');
      }
      request.log.error({ err: error, storage: deps.storage.driver }, 'could not read a stored document');
      throw storageUnavailable();
    }
    reply
      .header('content-type', doc.content_type)
      .header('content-length', String(doc.size_bytes))
      .header('content-disposition', attachmentDisposition(doc.original_name))
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'; sandbox")
      .header('cache-control', 'private, no-store')
      .header('etag', `"${doc.sha256}"`);
    return reply.send(content);
  });
}
