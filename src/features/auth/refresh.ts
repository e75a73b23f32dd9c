import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { HttpProblem } from '../../platform/http/problem.js';
import type { Principal } from './access-tokens.js';
import { contextOf, tokenPair, type Identity, type TokenPair } from './identity.js';
import { hashRefreshToken, successorOf } from './refresh-tokens.js';
import { TokenPairSchema } from './schemas.js';
import {
  findRefreshToken, insertRefreshToken, lockRefreshToken, markRefreshTokenUsed, revokeSessionFamily, sessionOfRefreshToken, touchSession, writeAuditEvent,
  type RequestContext,
} from './store.js';
import { assertCsrf, CookieSessionSchema, refreshTokenFromCookie, sendCookieSession, wantsCookieSession } from './cookie-session.js';

const invalidRefreshToken = () => new HttpProblem(401, 'invalid-refresh-token', 'The refresh token is invalid, expired or revoked; sign in again.');

type Outcome =
  | { kind: 'invalid' }
  | { kind: 'reused'; sessionId: string; familyId: string; tenantId: string; userId: string }
  | { kind: 'issued'; principal: Principal; grant: { id: string; issuedAt: Date } };

/**
 * Rotation: a refresh token works once and is replaced by its successor. Presenting a used
 * token again means two parties hold it, so the whole family (the session) is revoked —
 * unless it comes within the reuse interval, the signature of two tabs refreshing at once,
 * which get the same successor.
 */
export async function rotateRefreshToken(identity: Identity, presented: string, context: RequestContext, now = new Date()): Promise<TokenPair> {
  const { rotationKey, refreshTtlS, reuseIntervalS } = identity.tokens;
  const successor = successorOf(presented, rotationKey);
  const outcome = await identity.db.transaction().execute(async (trx): Promise<Outcome> => {
    const token = await lockRefreshToken(trx, hashRefreshToken(presented));
    if (!token || token.revoked_at !== null || token.disabled || token.expires_at.getTime() <= now.getTime()) return { kind: 'invalid' };
    const principal = { userId: token.user_id, tenantId: token.tenant_id, role: token.role, sessionId: token.session_id };

    if (token.used_at === null) {
      const next = await insertRefreshToken(trx, {
        tokenHash: hashRefreshToken(successor),
        sessionId: token.session_id,
        familyId: token.family_id,
        parentId: token.id,
        expiresAt: new Date(now.getTime() + refreshTtlS * 1000),
      });
      await markRefreshTokenUsed(trx, token.id, next.id, now);
      await touchSession(trx, token.session_id, context);
      return { kind: 'issued', principal, grant: { id: next.id, issuedAt: next.created_at } };
    }

    const sinceUse = now.getTime() - token.used_at.getTime();
    if (reuseIntervalS > 0 && sinceUse <= reuseIntervalS * 1000 && token.replaced_by !== null) {
      const next = await findRefreshToken(trx, token.replaced_by);
      if (next && next.token_hash === hashRefreshToken(successor)) return { kind: 'issued', principal, grant: { id: next.id, issuedAt: next.created_at } };
    }
    await revokeSessionFamily(trx, token.family_id);
    return { kind: 'reused', sessionId: token.session_id, familyId: token.family_id, tenantId: token.tenant_id, userId: token.user_id };
  });

  if (outcome.kind !== 'issued') identity.counters.failure('refresh_token_invalid');
  if (outcome.kind === 'invalid') throw invalidRefreshToken();
  if (outcome.kind === 'reused') {
    identity.revocations.markRevoked(outcome.sessionId);
    await writeAuditEvent(identity.db, context, {
      action: 'auth.refresh.reused',
      tenantId: outcome.tenantId,
      actorId: outcome.userId,
      details: { session_id: outcome.sessionId, family_id: outcome.familyId, outcome: 'family revoked' },
    });
    identity.logger.warn({ session_id: outcome.sessionId, correlation_id: context.correlationId }, 'refresh token reused after rotation; session revoked');
    throw invalidRefreshToken();
  }
  return tokenPair(identity, outcome.principal, successor, outcome.grant);
}

export async function refreshRoute(app: FastifyInstance, identity: Identity): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().post('/v1/auth/refresh', {
    schema: {
      summary: 'Exchange a refresh token for a new pair; the presented token stops working. Without `refresh_token` (body `{}`), the `__Host-rampart_refresh` cookie is used, with the CSRF check, and both cookies are rotated.',
      tags: ['auth'],
      body: Type.Object({ refresh_token: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })) }, { additionalProperties: false }),
      response: { 200: Type.Union([TokenPairSchema, CookieSessionSchema]) },
    },
  }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const fromCookie = request.body.refresh_token === undefined;
    const presented = request.body.refresh_token ?? refreshTokenFromCookie(request);
    if (presented === undefined || presented.length > 512) throw invalidRefreshToken();
    if (fromCookie) {
      // Checked before rotating: a forged request must not even advance the family.
      const sessionId = await sessionOfRefreshToken(identity.db, hashRefreshToken(presented));
      if (sessionId === undefined) {
        identity.counters.failure('refresh_token_invalid');
        throw invalidRefreshToken();
      }
      assertCsrf(request, identity.browser, sessionId);
    }
    const pair = await rotateRefreshToken(identity, presented, contextOf(request));
    return fromCookie || wantsCookieSession(request) ? sendCookieSession(reply, identity.browser, pair, identity.tokens.refreshTtlS) : pair;
  });
}
