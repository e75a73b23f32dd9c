import type { FastifyInstance } from 'fastify';
import { principalOf } from './authenticate.js';
import { contextOf, type Identity } from './identity.js';
import { bearerAuth } from './schemas.js';
import { revokeSessions, writeAuditEvent, type RequestContext } from './store.js';
import type { Principal } from './access-tokens.js';
import { clearCookieSession, hasSessionCookies } from './cookie-session.js';

/** Ends the caller's session: its access token and every refresh token of its family stop working. */
export async function logOut(identity: Identity, principal: Principal, context: RequestContext): Promise<void> {
  await revokeSessions(identity.db, principal.userId, { only: principal.sessionId });
  identity.revocations.markRevoked(principal.sessionId);
  await writeAuditEvent(identity.db, context, { action: 'auth.logout', tenantId: principal.tenantId, actorId: principal.userId, details: { session_id: principal.sessionId } });
}

/** Registered inside the authenticated scope. */
export async function logoutRoute(app: FastifyInstance, identity: Identity): Promise<void> {
  app.post('/v1/auth/logout', {
    schema: {
      summary: 'Sign out: revoke the current session.',
      tags: ['auth'],
      security: bearerAuth,
      response: { 204: { type: 'null', description: 'Signed out.' } },
    },
  }, async (request, reply) => {
    await logOut(identity, principalOf(request), contextOf(request));
    if (hasSessionCookies(request)) clearCookieSession(reply);
    return reply.code(204).send();
  });
}
