import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { HttpProblem } from '../../platform/http/problem.js';
import type { Principal } from './access-tokens.js';
import { principalOf } from './authenticate.js';
import { contextOf, type Identity } from './identity.js';
import { bearerAuth } from './schemas.js';
import { listLiveSessions, revokeSessions, writeAuditEvent, type RequestContext } from './store.js';

const SessionSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  user_agent: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  last_seen_at: Type.String({ format: 'date-time', description: 'Last sign-in or token refresh.' }),
  current: Type.Boolean({ description: 'The session of the token making this request.' }),
});

export async function listSessions(identity: Identity, principal: Principal) {
  const rows = await listLiveSessions(identity.db, principal.userId);
  return rows.map((row) => ({
    id: row.id,
    user_agent: row.user_agent,
    ip: row.ip,
    created_at: row.created_at.toISOString(),
    last_seen_at: row.last_seen_at.toISOString(),
    current: row.id === principal.sessionId,
  }));
}

/** Revokes the caller's own sessions only: another user's session id is "not found", never revoked. */
export async function revokeOwnSessions(identity: Identity, principal: Principal, which: { only?: string; except?: string }, context: RequestContext): Promise<string[]> {
  const revoked = await revokeSessions(identity.db, principal.userId, which);
  for (const id of revoked) identity.revocations.markRevoked(id);
  if (revoked.length > 0) {
    await writeAuditEvent(identity.db, context, { action: 'auth.session.revoked', tenantId: principal.tenantId, actorId: principal.userId, details: { session_ids: revoked } });
  }
  return revoked;
}

/** Registered inside the authenticated scope. */
export async function sessionsRoutes(app: FastifyInstance, identity: Identity): Promise<void> {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();

  typed.get('/v1/auth/sessions', {
    schema: { summary: 'List your signed-in devices.', tags: ['auth'], security: bearerAuth, response: { 200: Type.Object({ sessions: Type.Array(SessionSchema) }) } },
  }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    return { sessions: await listSessions(identity, principalOf(request)) };
  });

  typed.delete('/v1/auth/sessions/:id', {
    schema: {
      summary: 'Revoke one of your sessions (sign a device out).',
      tags: ['auth'],
      security: bearerAuth,
      params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
      response: { 204: Type.Null({ description: 'Revoked.' }) },
    },
  }, async (request, reply) => {
    const revoked = await revokeOwnSessions(identity, principalOf(request), { only: request.params.id }, contextOf(request));
    if (revoked.length === 0) throw new HttpProblem(404, 'session-not-found', 'You have no live session with this id.');
    return reply.code(204).send(null);
  });

  typed.delete('/v1/auth/sessions', {
    schema: {
      summary: 'Revoke your other sessions (`scope=others`, the default) or all of them, this one included (`scope=all`).',
      tags: ['auth'],
      security: bearerAuth,
      querystring: Type.Object({ scope: Type.Optional(Type.Union([Type.Literal('others'), Type.Literal('all')])) }, { additionalProperties: false }),
      response: { 200: Type.Object({ revoked: Type.Integer() }) },
    },
  }, async (request) => {
    const principal = principalOf(request);
    const which = request.query.scope === 'all' ? {} : { except: principal.sessionId };
    const revoked = await revokeOwnSessions(identity, principal, which, contextOf(request));
    return { revoked: revoked.length };
  });
}
