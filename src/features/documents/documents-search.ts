import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { HttpProblem } from '../../platform/http/problem.js';
import { callerOf, requirePermission } from '../auth/index.js';
import type { DocumentsDeps } from './documents-deps.js';
import { bearerOrApiKey, DocumentSchema, documentView, MAX_PAGE, MAX_PAGE_SIZE, PageQuery, pageOf } from './documents-schemas.js';
import { HIGHLIGHT_START, HIGHLIGHT_STOP, searchDocuments } from './documents-store.js';

export const MAX_QUERY_LENGTH = 200;

const SearchResults = Type.Object({
  results: Type.Array(Type.Intersect([DocumentSchema, Type.Object({
    rank: Type.Number(),
    highlight: Type.String({ description: 'Fragments around the matches, HTML-escaped, matches in <mark>…</mark>.' }),
  })])),
  page: Type.Integer(),
  limit: Type.Integer(),
  total: Type.Integer(),
});

function invalidQuery(): HttpProblem {
  return new HttpProblem(400, 'invalid-search-query', `q must be 1-${MAX_QUERY_LENGTH} characters of search words (web-search syntax: "exact phrase", -excluded, or).`);
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** The headline as safe HTML: the document's text escaped, only our markers turned into <mark>. */
export function highlightHtml(headline: string): string {
  return headline
    .replace(/[&<>"']/g, (c) => ESCAPES[c]!)
    .replaceAll(HIGHLIGHT_START, '<mark>')
    .replaceAll(HIGHLIGHT_STOP, '</mark>');
}

async function search(deps: DocumentsDeps, request: FastifyRequest, input: { q?: string | undefined; page?: string | number | undefined; limit?: string | number | undefined }) {
  const q = input.q?.trim() ?? '';
  if (q.length === 0 || q.length > MAX_QUERY_LENGTH || q.includes('\u0000')) throw invalidQuery();
  const page = pageOf(input);
  const { hits, total } = await searchDocuments(deps.db, callerOf(request).tenantId, q, page);
  return { results: hits.map((hit) => ({ ...documentView(hit), rank: hit.rank, highlight: highlightHtml(hit.headline) })), ...page, total };
}

/**
 * `GET /v1/documents/search?q=` and `POST /v1/documents/search {q}` (for queries that should
 * stay out of URLs and access logs): the tenant's live documents matching q, best first.
 */
export async function searchDocumentsRoutes(app: FastifyInstance, deps: DocumentsDeps): Promise<void> {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const common = { tags: ['documents'], security: bearerOrApiKey, response: { 200: SearchResults } };
  typed.get('/v1/documents/search', {
    preHandler: requirePermission(deps.access, 'documents:read'),
    schema: {
      ...common,
      summary: 'Full-text search in your tenant\'s documents (names and extracted text). Needs documents:read.',
      querystring: Type.Object({ q: Type.Optional(Type.String({ description: `Search words, web-search syntax, 1-${MAX_QUERY_LENGTH} characters.` })), ...PageQuery }, { additionalProperties: false }),
    },
  }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    return search(deps, request, request.query);
  });
  typed.post('/v1/documents/search', {
    preHandler: requirePermission(deps.access, 'documents:read'),
    schema: {
      ...common,
      summary: 'Full-text search, the query in the body. Needs documents:read.',
      body: Type.Object({
        q: Type.Optional(Type.String()),
        page: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE })),
      }, { additionalProperties: false }),
    },
  }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    return search(deps, request, request.body);
  });
}
