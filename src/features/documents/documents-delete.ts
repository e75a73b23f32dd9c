import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { callerOf, requirePermission } from '../auth/index.js';
import type { DocumentsDeps } from './documents-deps.js';
import { bearerOrApiKey, DocumentIdParams, documentNotFound } from './documents-schemas.js';
import { softDeleteDocument } from './documents-store.js';

/** `DELETE /v1/documents/:id`: hidden at once (404 afterwards); purged with its object after DOCUMENTS_RETENTION_S. */
export async function deleteDocumentRoute(app: FastifyInstance, deps: DocumentsDeps): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().delete('/v1/documents/:id', {
    preHandler: requirePermission(deps.access, 'documents:write'),
    schema: {
      summary: 'Delete a document. Needs documents:write.',
      tags: ['documents'],
      security: bearerOrApiKey,
      params: DocumentIdParams,
      response: { 204: Type.Null({ description: 'Deleted.' }) },
    },
  }, async (request, reply) => {
    if (!(await softDeleteDocument(deps.db, callerOf(request).tenantId, request.params.id))) throw documentNotFound();
    request.log.info({ document_id: request.params.id }, 'document deleted');
    return reply.code(204).send(null);
  });
}
