import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Principal } from './access-tokens.js';
import type { ApiKeyAuthenticator } from './api-key-auth.js';
import { ApiKeyId, IssuedApiKey, apiKeyNotFound } from './api-keys-schemas.js';
import { replaceApiKeyHash } from './api-keys-store.js';
import { principalOf } from './authenticate.js';
import { contextOf, type Identity } from './identity.js';
import { generateApiKey } from './primitives/api-key-format.js';
import { requireLocalAccount, requirePermission } from './require-permission.js';
import { bearerAuth } from './schemas.js';
import { writeAuditEvent, type RequestContext } from './store.js';

/**
 * A new key for the same id, name and scopes. The old key keeps working for
 * `API_KEY_ROTATION_OVERLAP_S`, then dies (at once when that is 0). The route checks `api-keys:write`.
 */
export async function rotateApiKey(identity: Identity, auth: ApiKeyAuthenticator, principal: Principal, id: string, context: RequestContext, now = new Date()) {
  const { key, prefix, hash } = generateApiKey(identity.apiKeys.env, identity.apiKeys.peppers.current());
  const overlapS = identity.apiKeys.rotationOverlapS;
  const previousUntil = overlapS > 0 ? new Date(now.getTime() + overlapS * 1000) : null;
  const row = await replaceApiKeyHash(identity.db, { id, tenantId: principal.tenantId, now }, { prefix, keyHash: hash, previousUntil });
  if (!row) throw apiKeyNotFound();
  auth.forget(row.id);
  await writeAuditEvent(identity.db, context, {
    action: 'auth.api_key.rotated',
    tenantId: principal.tenantId,
    actorId: principal.userId,
    details: { api_key_id: row.id, name: row.name, prefix, previous_valid_until: previousUntil?.toISOString() ?? null },
  });
  return { id: row.id, key, prefix };
}

/** Registered in the management scope; API keys are refused by the permission check. */
export async function rotateApiKeyRoute(app: FastifyInstance, identity: Identity, auth: ApiKeyAuthenticator): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().post('/v1/api-keys/:id/rotate', {
    preHandler: [requireLocalAccount, requirePermission(identity, 'api-keys:write', { apiKeys: false })],
    schema: {
      summary: 'Replace an API key: same id, name and scopes, new key (shown once). The old key works for API_KEY_ROTATION_OVERLAP_S more seconds.',
      tags: ['api-keys'],
      security: bearerAuth,
      params: ApiKeyId,
      response: { 200: IssuedApiKey },
    },
  }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    return rotateApiKey(identity, auth, principalOf(request), request.params.id, contextOf(request));
  });
}
