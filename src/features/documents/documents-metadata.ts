import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { callerOf, requirePermission } from '../auth/index.js';
import type { DocumentsDeps } from './documents-deps.js';
import { bearerOrApiKey, DocumentIdParams, documentNotFound, DocumentSchema, documentView } from './documents-schemas.js';
import { findDocument } from './documents-store.js';

/** `GET /v1/documents/:id`: one document's metadata. */
export async function documentMetadataRoute(app: FastifyInstance, deps: DocumentsDeps): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().get('/v1/documents/:id', {
    preHandler: requirePermission(deps.access, 'documents:read'),
    schema: {
      summary: 'A document\'s metadata. Needs documents:read.',
      tags: ['documents'],
      security: bearerOrApiKey,
      params: DocumentIdParams,
      response: { 200: DocumentSchema },
    },
  }, async (request, reply) => {
    const doc = await findDocument(deps.db, callerOf(request).tenantId, request.params.id);
    if (!doc) throw documentNotFound();
    reply.header('cache-control', 'no-store');
    return documentView(doc);
  });
}
