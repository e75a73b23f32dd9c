import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { callerOf, hasScope, insufficientScope } from './api-key-auth.js';
import { Scope } from './api-keys-schemas.js';
import { bearerOrApiKey } from './schemas.js';

/**
 * Registered in the scope that accepts a Bearer token or an API key. Lets a client check
 * its credential, and with `?need=scope` whether it may call routes needing that scope
 * (403 `insufficient-scope` when a key lacks it, the answer such a route would give).
 */
export async function whoamiRoute(app: FastifyInstance): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().get('/v1/api-keys/whoami', {
    schema: {
      summary: 'Who this credential speaks for: a user (Bearer) or an API key and its scopes.',
      tags: ['api-keys'],
      security: bearerOrApiKey,
      querystring: Type.Object({ need: Type.Optional(Scope) }, { additionalProperties: false }),
      response: {
        200: Type.Object({
          kind: Type.Union([Type.Literal('user'), Type.Literal('api_key')]),
          tenant_id: Type.String(),
          user_id: Type.Optional(Type.String()),
          role: Type.Optional(Type.String()),
          api_key_id: Type.Optional(Type.String()),
          scopes: Type.Optional(Type.Array(Type.String())),
        }),
      },
    },
  }, async (request, reply) => {
    const caller = callerOf(request);
    if (request.query.need !== undefined && !hasScope(caller, request.query.need)) throw insufficientScope(request.query.need);
    reply.header('cache-control', 'no-store');
    return caller.kind === 'user'
      ? { kind: caller.kind, tenant_id: caller.tenantId, user_id: caller.userId, role: caller.role }
      : { kind: caller.kind, tenant_id: caller.tenantId, api_key_id: caller.keyId, scopes: [...caller.scopes] };
  });
}
