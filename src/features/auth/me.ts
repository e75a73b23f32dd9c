import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { HttpProblem } from '../../platform/http/problem.js';
import { principalOf } from './authenticate.js';
import type { Identity } from './identity.js';
import { bearerAuth } from './schemas.js';
import { cachedUserView } from './user-cache.js';

const Me = Type.Object({
  id: Type.String(),
  email: Type.String(),
  tenant_id: Type.String(),
  role: Type.String(),
  session_id: Type.String({ description: 'Empty for a token from the external identity provider.' }),
  external: Type.Optional(Type.Boolean({ description: 'True when the token came from the external identity provider (OIDC mode).' })),
});

/** Registered inside the authenticated scope. */
export async function meRoute(app: FastifyInstance, identity: Identity): Promise<void> {
  app.get('/v1/me', {
    schema: { summary: 'The signed-in user.', tags: ['auth'], security: bearerAuth, response: { 200: Me } },
  }, async (request, reply) => {
    const principal = principalOf(request);
    reply.header('cache-control', 'no-store');
    // No user row stands behind a provider's token: the profile is what its claims say.
    if (principal.external) return { id: principal.userId, email: principal.external.email ?? '', tenant_id: principal.tenantId, role: principal.role, session_id: '', external: true };
    const user = await cachedUserView(identity, principal.userId);
    // The session check already refuses disabled users; a deleted one ends here.
    if (!user) throw new HttpProblem(401, 'invalid-token', 'The access token is invalid, expired or revoked; refresh it or sign in again.');
    reply.header('cache-control', 'no-store');
    return { id: user.id, email: user.email, tenant_id: user.tenant_id, role: user.role, session_id: principal.sessionId };
  });
}
