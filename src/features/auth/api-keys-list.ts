import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { ApiKeyListing, listingOf } from './api-keys-schemas.js';
import { listTenantApiKeys } from './api-keys-store.js';
import { callerOf } from './api-key-auth.js';
import type { Identity } from './identity.js';
import { requirePermission } from './require-permission.js';
import { bearerAuth } from './schemas.js';

/** Registered in the management scope: a user with `api-keys:read`, or a key with that scope. */
export async function listApiKeysRoute(app: FastifyInstance, identity: Identity): Promise<void> {
  app.get('/v1/api-keys', {
    preHandler: requirePermission(identity, 'api-keys:read'),
    schema: {
      summary: 'List your tenant\'s API keys, revoked ones included. Never the keys themselves.',
      tags: ['api-keys'],
      security: [...bearerAuth, { apiKeyAuth: [] }],
      response: { 200: Type.Object({ api_keys: Type.Array(ApiKeyListing) }) },
    },
  }, async (request, reply) => {
    const rows = await listTenantApiKeys(identity.db, callerOf(request).tenantId);
    reply.header('cache-control', 'no-store');
    return { api_keys: rows.map(listingOf) };
  });
}
