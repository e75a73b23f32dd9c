import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { ApiKeyListing, listingOf } from './api-keys-schemas.js';
import { listTenantApiKeys } from './api-keys-store.js';
import { principalOf } from './authenticate.js';
import type { Identity } from './identity.js';
import { bearerAuth } from './schemas.js';

/** Registered inside the Bearer-only scope. */
export async function listApiKeysRoute(app: FastifyInstance, identity: Identity): Promise<void> {
  app.get('/v1/api-keys', {
    schema: {
      summary: 'List your tenant\'s API keys, revoked ones included. Never the keys themselves.',
      tags: ['api-keys'],
      security: bearerAuth,
      response: { 200: Type.Object({ api_keys: Type.Array(ApiKeyListing) }) },
    },
  }, async (request, reply) => {
    const rows = await listTenantApiKeys(identity.db, principalOf(request).tenantId);
    reply.header('cache-control', 'no-store');
    return { api_keys: rows.map(listingOf) };
  });
}
