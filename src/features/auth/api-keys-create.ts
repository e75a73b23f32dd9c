import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { HttpProblem } from '../../platform/http/problem.js';
import type { Principal } from './access-tokens.js';
import { ApiKeyName, assertKnownScopes, IssuedApiKey, Scopes } from './api-keys-schemas.js';
import { insertApiKey } from './api-keys-store.js';
import { principalOf } from './authenticate.js';
import { contextOf, type Identity } from './identity.js';
import { generateApiKey } from './primitives/api-key-format.js';
import { assertGranted, externalIdentity, requireLocalAccount, requirePermission } from './require-permission.js';
import { bearerAuth } from './schemas.js';
import { writeAuditEvent, type RequestContext } from './store.js';

export interface NewApiKey {
  name: string;
  scopes: string[];
  expiresAt: Date | null;
}

/** Mints a key for the caller's tenant; the key itself is returned once and never stored. */
export async function createApiKey(identity: Identity, principal: Principal, request: NewApiKey, context: RequestContext, now = new Date()) {
  // A key's scopes are permissions, and a key never holds one its creator's role lacks.
  if (principal.external) throw externalIdentity();
  assertKnownScopes(identity.permissions, request.scopes);
  await assertGranted(identity, principal, ['api-keys:write', ...request.scopes]);
  if (request.expiresAt !== null && request.expiresAt <= now) {
    throw new HttpProblem(422, 'validation-failed', 'expires_at must be in the future.', [{ field: 'body/expires_at', message: 'must be in the future' }]);
  }
  const { key, prefix, hash } = generateApiKey(identity.apiKeys.env, identity.apiKeys.peppers.current());
  const row = await insertApiKey(identity.db, {
    tenantId: principal.tenantId,
    createdBy: principal.userId,
    name: request.name,
    prefix,
    scopes: request.scopes,
    keyHash: hash,
    expiresAt: request.expiresAt,
  });
  await writeAuditEvent(identity.db, context, {
    action: 'auth.api_key.created',
    tenantId: principal.tenantId,
    actorId: principal.userId,
    details: { api_key_id: row.id, name: row.name, prefix, scopes: request.scopes, expires_at: request.expiresAt?.toISOString() ?? null },
  });
  return { id: row.id, key, prefix };
}

/** Registered in the management scope: API keys are refused (a key cannot mint keys). */
export async function createApiKeyRoute(app: FastifyInstance, identity: Identity): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().post('/v1/api-keys', {
    preHandler: [requireLocalAccount, requirePermission(identity, 'api-keys:write', { apiKeys: false })],
    schema: {
      summary: 'Create an API key for your tenant. The key is in this response only.',
      tags: ['api-keys'],
      security: bearerAuth,
      body: Type.Object({
        name: ApiKeyName,
        scopes: Scopes,
        expires_at: Type.Optional(Type.String({ format: 'date-time', description: 'When the key stops working. Absent: never.' })),
      }, { additionalProperties: false }),
      response: { 201: IssuedApiKey },
    },
  }, async (request, reply) => {
    const { name, scopes, expires_at } = request.body;
    const issued = await createApiKey(identity, principalOf(request), { name, scopes, expiresAt: expires_at ? new Date(expires_at) : null }, contextOf(request));
    reply.header('cache-control', 'no-store');
    return reply.code(201).send(issued);
  });
}
