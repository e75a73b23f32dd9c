import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { callerOf, requirePermission } from '../auth/index.js';
import type { DocumentsDeps } from './documents-deps.js';
import { bearerOrApiKey, DocumentSchema, documentView, PageQuery, pageOf } from './documents-schemas.js';
import { listDocuments } from './documents-store.js';

/** `GET /v1/documents`: the tenant's documents, newest first, a page at a time. */
export async function listDocumentsRoute(app: FastifyInstance, deps: DocumentsDeps): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().get('/v1/documents', {
    preHandler: requirePermission(deps.access, 'documents:read'),
    schema: {
      summary: 'List your tenant\'s documents, newest first. Needs documents:read.',
      tags: ['documents'],
      security: bearerOrApiKey,
      querystring: Type.Object(PageQuery, { additionalProperties: false }),
      response: { 200: Type.Object({ documents: Type.Array(DocumentSchema), page: Type.Integer(), limit: Type.Integer(), total: Type.Integer() }) },
    },
  }, async (request, reply) => {
    const page = pageOf(request.query);
    const { rows, total } = await listDocuments(deps.db, callerOf(request).tenantId, page);
    reply.header('cache-control', 'no-store');
    return { documents: rows.map(documentView), ...page, total };
  });
}
