import Type from 'typebox';
import { HttpProblem } from '../../platform/http/problem.js';
import type { DocumentRow } from './documents-store.js';

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;
// Offset pagination: deeper pages cost more; 1,000 pages of 100 is far past what a person reads.
export const MAX_PAGE = 1_000;

export { bearerOrApiKey } from '../auth/index.js';

export const DocumentSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String({ description: 'The uploaded file\'s name, sanitised (base name only, no control characters).' }),
  content_type: Type.String({ description: 'Sniffed from the content; what downloads are served as.' }),
  size_bytes: Type.Integer(),
  sha256: Type.String({ description: 'SHA-256 of the content, hex.' }),
  status: Type.Union([Type.Literal('stored'), Type.Literal('extracted'), Type.Literal('extract_failed')], { description: '`extracted` once its text is searchable; images stay `stored` (only their name is searchable).' }),
  uploaded_by_user_id: Type.Union([Type.String(), Type.Null()]),
  uploaded_by_api_key_id: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  extracted_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

export function documentView(row: DocumentRow) {
  return {
    id: row.id,
    name: row.original_name,
    content_type: row.content_type,
    size_bytes: Number(row.size_bytes),
    sha256: row.sha256,
    status: row.status,
    uploaded_by_user_id: row.uploaded_by_user_id,
    uploaded_by_api_key_id: row.uploaded_by_api_key_id,
    created_at: row.created_at.toISOString(),
    extracted_at: row.extracted_at ? row.extracted_at.toISOString() : null,
  };
}

export const DocumentIdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

// Patterns, not integers: query strings are not coerced (server.ts).
export const PageQuery = {
  page: Type.Optional(Type.String({ pattern: '^(1000|[1-9][0-9]{0,2})$', description: `Page number, 1-${MAX_PAGE} (default 1).` })),
  limit: Type.Optional(Type.String({ pattern: '^(100|[1-9][0-9]?)$', description: `Results per page, 1-${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE}).` })),
};

export function pageOf(query: { page?: string | number | undefined; limit?: string | number | undefined }) {
  return { page: query.page === undefined ? 1 : Number(query.page), limit: query.limit === undefined ? DEFAULT_PAGE_SIZE : Number(query.limit) };
}

/** Also the answer for another tenant's document: its existence is not confirmed. */
export function documentNotFound(): HttpProblem {
  return new HttpProblem(404, 'document-not-found', 'Your tenant has no document with this id.');
}

export function storageUnavailable(): HttpProblem {
  return new HttpProblem(503, 'storage-unavailable', 'Document storage cannot be reached; try again shortly.');
}
