import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { HttpProblem } from '../../platform/http/problem.js';
import type { Principal } from './access-tokens.js';
import { findApiKeyByHash } from './api-keys-store.js';
import type { ApiKeySettings } from './api-keys-settings.js';
import type { LastUsedBatcher } from './last-used-batcher.js';
import { hashApiKey, parseApiKey } from './primitives/api-key-format.js';
import type { Db } from './store.js';

/** The caller of a request authenticated by `X-API-Key`. */
export interface ApiKeyPrincipal {
  kind: 'api_key';
  keyId: string;
  tenantId: string;
  scopes: readonly string[];
}

/** Whoever called a route that accepts either credential. */
export type Caller = ({ kind: 'user' } & Principal) | ApiKeyPrincipal;

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Set instead of `principal` when a route accepts API keys and the request sent one.
     * Kept apart so a Bearer-only route (`principalOf`) can never be handed a key.
     */
    apiKey: ApiKeyPrincipal | null;
  }
}

export interface ApiKeyAuthenticator {
  /** The key's principal, or a 401 `invalid-api-key` problem for anything else. */
  authenticate(request: FastifyRequest): Promise<ApiKeyPrincipal>;
  /** Changed here (revoked, rotated): this instance stops trusting its cached lookup at once. */
  forget(keyId: string): void;
}

interface CachedKey {
  at: number;
  key: Awaited<ReturnType<typeof findApiKeyByHash>> | null;
}

const MAX_ENTRIES = 50_000;

export function invalidApiKey(): HttpProblem {
  return new HttpProblem(401, 'invalid-api-key', 'The API key is malformed, unknown, revoked or expired.');
}

/**
 * Verifies `X-API-Key`: the format and checksum are checked before anything else, so a
 * malformed, oversized or injected header never reaches the database. Lookups (found or
 * not) are cached in memory for at most `ttlMs`, so a revocation on another instance takes
 * effect within that time; expiry is checked on every request, cached or not.
 */
export function createApiKeyAuthenticator(db: Db, settings: ApiKeySettings, lastUsed: LastUsedBatcher, ttlMs = 1_000): ApiKeyAuthenticator {
  const cache = new Map<string, CachedKey>();

  const lookup = async (hash: string): Promise<CachedKey['key']> => {
    const cached = cache.get(hash);
    if (cached && Date.now() - cached.at < ttlMs) return cached.key;
    const key = (await findApiKeyByHash(db, hash)) ?? null;
    // A crude bound; entries live a second, so dropping them all costs one lookup each.
    if (cache.size >= MAX_ENTRIES) cache.clear();
    cache.set(hash, { at: Date.now(), key });
    return key;
  };

  return {
    async authenticate(request) {
      const header = request.headers['x-api-key'];
      const parsed = parseApiKey(header);
      // A key minted for the other environment is refused, even if it would match.
      if (!parsed || parsed.env !== settings.env) {
        request.log.info({ reason: 'malformed' }, 'api key refused');
        throw invalidApiKey();
      }
      const hash = hashApiKey(header as string, settings.pepper);
      const key = await lookup(hash);
      const now = new Date();
      const refusal = !key
        ? 'unknown'
        : key.revoked_at !== null
          ? 'revoked'
          : key.expires_at !== null && key.expires_at <= now
            ? 'expired'
            : key.key_hash !== hash && !(key.previous_key_expires_at !== null && key.previous_key_expires_at > now)
              ? 'rotated'
              : null;
      if (refusal !== null || !key) {
        request.log.info({ reason: refusal, prefix: parsed.prefix }, 'api key refused');
        throw invalidApiKey();
      }
      lastUsed.touch(key.id, now);
      return { kind: 'api_key', keyId: key.id, tenantId: key.tenant_id, scopes: key.scopes };
    },
    forget(keyId) {
      for (const [hash, entry] of cache) if (entry.key?.id === keyId) cache.delete(hash);
    },
  };
}

/** The caller of a route that accepts a Bearer token or an API key. */
export function callerOf(request: FastifyRequest): Caller {
  if (request.apiKey) return request.apiKey;
  if (request.principal) return { kind: 'user', ...request.principal };
  throw new Error('route is not behind the authenticate plugin');
}

/** Whether the caller may act on `scope`: a key needs it among its scopes; a user's access is decided by role. */
export function hasScope(caller: Caller, scope: string): boolean {
  return caller.kind === 'user' || caller.scopes.includes(scope);
}

export function insufficientScope(scope: string): HttpProblem {
  return new HttpProblem(403, 'insufficient-scope', `This API key lacks the scope this request needs: ${scope}.`);
}

/**
 * A route's declaration of the scope an API key needs to call it:
 * `{ preHandler: requireScope('contact:write') }` on a route behind `authenticate` with API keys.
 */
export function requireScope(scope: string): preHandlerAsyncHookHandler {
  return async function requireScopeHook(request: FastifyRequest, _reply: FastifyReply) {
    if (!hasScope(callerOf(request), scope)) throw insufficientScope(scope);
  };
}
