import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type, { type Static } from 'typebox';
import { FieldDecryptionError } from '../../platform/crypto/field-encryption.js';
import type { Logger } from '../../platform/log/logger.js';
import { bearerOrApiKey, callerOf, requirePermission } from '../auth/index.js';
import type { ContactFeature } from './contact-feature.js';
import { openContactContent } from './content-sealing.js';
import { ContactPageSchema, type ContactMessageSchema } from './schemas.js';
import { listTenantContactMessages, type ContactMessageRow } from './store.js';

export const MAX_PAGE = 100;
const DEFAULT_PAGE = 20;

type ContactMessageView = Static<typeof ContactMessageSchema>;

export const UNREADABLE_CONTENT = 'The content does not decrypt with the current FIELD_ENCRYPTION_KEYS; an operator has to restore the key it was sealed with.';

function viewOf(feature: ContactFeature, row: ContactMessageRow, log: Pick<Logger, 'error'>): ContactMessageView {
  const meta = {
    created_at: row.created_at.toISOString(),
    submitted_by: { kind: row.submitter_kind, id: row.submitter_id },
    correlation_id: row.correlation_id,
  };
  try {
    return { id: row.id, ...openContactContent(feature.fieldKeys, row), ...meta };
  } catch (error) {
    if (!(error instanceof FieldDecryptionError)) throw error;
    // One message sealed under a key that is gone must not hide the rest of the inbox.
    log.error({ contact_message_id: row.id, reason: error.message }, 'contact message does not decrypt; listed without its content');
    return { id: row.id, name: null, email: null, message: null, ...meta, unreadable: UNREADABLE_CONTENT };
  }
}

/**
 * One page of a tenant's messages, newest first, decrypted; `next_cursor` is null on the last page.
 * A message that does not decrypt is listed with null content and `unreadable`, and reported to `log`.
 */
export async function listContactMessages(feature: ContactFeature, tenantId: string, page: { limit: number; cursor?: string | undefined }, log: Pick<Logger, 'error'>): Promise<Static<typeof ContactPageSchema>> {
  // One row more than asked says whether another page follows.
  const rows = await listTenantContactMessages(feature.db, tenantId, { limit: page.limit + 1, beforeSeq: page.cursor });
  const shown = rows.slice(0, page.limit);
  return { messages: shown.map((row) => viewOf(feature, row, log)), next_cursor: rows.length > page.limit ? shown.at(-1)!.seq : null };
}

/** Registered in a scope behind `authenticate` with API keys. */
export async function listRoute(app: FastifyInstance, feature: ContactFeature): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().get('/v1/contact', {
    preValidation: requirePermission(feature.access, 'contact:read'),
    schema: {
      summary: 'List your tenant\'s contact messages, newest first, decrypted, a page at a time. Needs the `contact:read` permission (admins) or an API key with that scope.',
      tags: ['contact'],
      security: bearerOrApiKey,
      querystring: Type.Object({
        // Patterns, not integers: query strings are not coerced (server.ts).
        limit: Type.Optional(Type.String({ pattern: '^(100|[1-9][0-9]?)$', description: `Messages per page, 1-${MAX_PAGE} (default ${DEFAULT_PAGE}).` })),
        cursor: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,17}$', description: 'The `next_cursor` of the previous page.' })),
      }, { additionalProperties: false }),
      response: { 200: ContactPageSchema },
    },
  }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const { limit, cursor } = request.query;
    return listContactMessages(feature, callerOf(request).tenantId, { limit: limit === undefined ? DEFAULT_PAGE : Number(limit), cursor }, request.log);
  });
}
