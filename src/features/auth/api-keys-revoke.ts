import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { Principal } from './access-tokens.js';
import type { ApiKeyAuthenticator } from './api-key-auth.js';
import { ApiKeyId, apiKeyNotFound } from './api-keys-schemas.js';
import { revokeTenantApiKey } from './api-keys-store.js';
import { principalOf } from './authenticate.js';
import { contextOf, type Identity } from './identity.js';
import { requireLocalAccount, requirePermission } from './require-permission.js';
import { bearerAuth } from './schemas.js';
import { writeAuditEvent, type RequestContext } from './store.js';

/** Revokes a key of the caller's tenant: refused here at once, on other instances within a second. The route checks `api-keys:write`. */
export async function revokeApiKey(identity: Identity, auth: ApiKeyAuthenticator, principal: Principal, id: string, context: RequestContext, now = new Date()): Promise<void> {
  const row = await revokeTenantApiKey(identity.db, { id, tenantId: principal.tenantId, now });
  if (!row) throw apiKeyNotFound();
  auth.forget(row.id);
  await writeAuditEvent(identity.db, context, {
    action: 'auth.api_key.revoked',
    tenantId: principal.tenantId,
    actorId: principal.userId,
    details: { api_key_id: row.id, name: row.name, prefix: row.prefix },
  });
}

/** Registered in the management scope; API keys are refused by the permission check. */
export async function revokeApiKeyRoute(app: FastifyInstance, identity: Identity, auth: ApiKeyAuthenticator): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().delete('/v1/api-keys/:id', {
    preHandler: [requireLocalAccount, requirePermission(identity, 'api-keys:write', { apiKeys: false })],
    schema: {
      summary: 'Revoke an API key of your tenant.',
      tags: ['api-keys'],
      security: bearerAuth,
      params: ApiKeyId,
      response: { 204: Type.Null({ description: 'Revoked.' }) },
    },
  }, async (request, reply) => {
    await revokeApiKey(identity, auth, principalOf(request), request.params.id, contextOf(request));
    return reply.code(204).send(null);
  });
}
