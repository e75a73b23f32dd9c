import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { createCache, type Cache } from '../../platform/cache/cache-aside.js';
import { HttpProblem } from '../../platform/http/problem.js';
import type { Principal } from './access-tokens.js';
import { findApiKeyByHash, findApiKeyById, upgradeApiKeyHash } from './api-keys-store.js';
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

/** What verifying a key needs, JSON-safe (times in epoch ms) so it can live in Redis. */
interface KeySnapshot {
  id: string;
  tenantId: string;
  scopes: string[];
  keyHash: string;
  previousKeyHash: string | null;
  previousUntil: number | null;
  expiresAt: number | null;
  revoked: boolean;
}

// A hash never changes owner, so its id is cached long; the key itself is invalidated
// explicitly on revoke and rotate, and its TTL bounds changes made outside those routes.
const HASH_TTL_MS = 60_000;
const KEY_TTL_MS = 10_000;
const keyCacheKey = (id: string) => `api-key:${id}`;

/** A memory-only cache, for an authenticator built without the shared one. */
function memoryCache(): Cache {
  return createCache({ prefix: 'api-keys:', logger: { warn: () => {} } });
}

export function invalidApiKey(): HttpProblem {
  return new HttpProblem(401, 'invalid-api-key', 'The API key is malformed, unknown, revoked or expired.');
}

/**
 * Verifies `X-API-Key`: the format and checksum are checked before anything else, so a
 * malformed, oversized or injected header never reaches the database. Lookups (found or
 * not) go through the cache-aside `cache` (memory ≤ 1 s, then Redis when shared); revoking
 * or rotating invalidates the key on every instance. Expiry is checked on every request.
 */
export function createApiKeyAuthenticator(db: Db, settings: ApiKeySettings, lastUsed: LastUsedBatcher, cache: Cache = memoryCache()): ApiKeyAuthenticator {
  const snapshot = (id: string) =>
    cache.getOrLoad<KeySnapshot | null>(keyCacheKey(id), KEY_TTL_MS, async () => {
      const row = await findApiKeyById(db, id);
      if (!row) return null;
      return {
        id: row.id,
        tenantId: row.tenant_id,
        scopes: row.scopes,
        keyHash: row.key_hash,
        previousKeyHash: row.previous_key_hash,
        previousUntil: row.previous_key_expires_at?.getTime() ?? null,
        expiresAt: row.expires_at?.getTime() ?? null,
        revoked: row.revoked_at !== null,
      };
    });

  const lookup = async (hash: string): Promise<KeySnapshot | null> => {
    const id = await cache.getOrLoad<string | null>(`api-key-hash:${hash}`, HASH_TTL_MS, async () => (await findApiKeyByHash(db, hash))?.id ?? null);
    return id === null ? null : snapshot(id);
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
      const [current, ...older] = settings.peppers.all();
      const currentHash = hashApiKey(header as string, current!);
      let hash = currentHash;
      let key = await lookup(hash);
      // Hashed under a pepper that has since rotated: found by the older pepper, re-hashed below.
      for (const pepper of older) {
        if (key) break;
        hash = hashApiKey(header as string, pepper);
        key = await lookup(hash);
      }
      const now = new Date();
      const refusal = !key
        ? 'unknown'
        : key.revoked
          ? 'revoked'
          : key.expiresAt !== null && key.expiresAt <= now.getTime()
            ? 'expired'
            : key.keyHash !== hash && !(key.previousKeyHash === hash && key.previousUntil !== null && key.previousUntil > now.getTime())
              ? 'rotated'
              : null;
      if (refusal !== null || !key) {
        request.log.info({ reason: refusal, prefix: parsed.prefix }, 'api key refused');
        throw invalidApiKey();
      }
      if (hash !== currentHash && key.keyHash === hash) {
        await upgradeApiKeyHash(db, key.id, hash, currentHash);
        void cache.invalidate(keyCacheKey(key.id));
      }
      lastUsed.touch(key.id, now);
      return { kind: 'api_key', keyId: key.id, tenantId: key.tenantId, scopes: key.scopes };
    },
    forget(keyId) {
      // The local copy goes synchronously; Redis and the other instances follow.
      void cache.invalidate(keyCacheKey(keyId));
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
