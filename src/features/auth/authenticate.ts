import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { HttpProblem } from '../../platform/http/problem.js';
import { cachedAccessTokenVerifier, InvalidAccessToken, type Principal, type TokenSettings } from './access-tokens.js';
import type { ApiKeyAuthenticator } from './api-key-auth.js';
import type { SessionRevocations } from './session-revocations.js';
import type { Keyring } from './signing-keys.js';
import { IdentityProviderUnavailable, type OidcVerifier } from './oidc-verifier.js';
import { accessTokenFromCookie, assertCsrf, type BrowserSessionSettings } from './cookie-session.js';
import { UNCOUNTED, type AuthCounters } from './auth-metrics.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified caller; set on every route inside a scope that registered `authenticate`. */
    principal: Principal | null;
  }
}

export interface AuthenticateOptions {
  keyring: Keyring;
  tokens: TokenSettings;
  revocations: SessionRevocations;
  /** Also accept `X-API-Key` (it sets `request.apiKey`; see `requireScope`); a request sending both is judged by its key. Absent: Bearer only. */
  apiKeys?: ApiKeyAuthenticator;
  /** Resource-server mode: tokens whose `iss` is the external provider's are verified against its JWKS. */
  oidc?: OidcVerifier | undefined;
  /** Also accept the `__Host-rampart_access` cookie when no other credential is sent; writes then need Origin + CSRF token. Absent: no cookies. */
  browser?: BrowserSessionSettings;
  /** Where refused credentials are counted; absent: nowhere. */
  counters?: AuthCounters;
}

// Tokens are a few hundred bytes; a megabyte header is an attack, not a token.
const MAX_TOKEN_LENGTH = 4096;

/** Thrown for every bad token alike: the caller learns that it failed, not why. */
function invalidToken(reply: FastifyReply, missing: boolean): HttpProblem {
  reply.header('www-authenticate', missing ? 'Bearer realm="rampart"' : 'Bearer realm="rampart", error="invalid_token"');
  return new HttpProblem(401, 'invalid-token', missing ? 'This endpoint needs an access token: send Authorization: Bearer <token>.' : 'The access token is invalid, expired or revoked; refresh it or sign in again.');
}

/**
 * Every route in the scope that registers this plugin requires a valid access token whose
 * session is still live; `request.principal` says who called.
 */
export const authenticate = fp(
  async (app: FastifyInstance, options: AuthenticateOptions) => {
    if (!options.keyring || !options.revocations) throw new Error('authenticate: keyring and revocations are required');
    app.decorateRequest('principal', null);
    app.decorateRequest('apiKey', null);
    const apiKeys = options.apiKeys;
    const verifyAccessToken = cachedAccessTokenVerifier(options.keyring, options.tokens);
    const counters = options.counters ?? UNCOUNTED;
    const refused = (reply: FastifyReply): HttpProblem => {
      counters.failure('access_token_invalid');
      return invalidToken(reply, false);
    };
    // Only Rampart's own tokens ride in the cookie, and every cookie-authenticated write passes the CSRF check.
    async function cookiePrincipal(request: FastifyRequest, reply: FastifyReply, token: string, browser: BrowserSessionSettings): Promise<Principal> {
      if (token.length > MAX_TOKEN_LENGTH) throw refused(reply);
      const principal = await verifyAccessToken(token).catch((error: unknown) => {
        if (error instanceof InvalidAccessToken) throw refused(reply);
        throw error;
      });
      if (await options.revocations.isRevoked(principal.sessionId)) throw refused(reply);
      assertCsrf(request, browser, principal.sessionId);
      return principal;
    }
    app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      if (apiKeys && request.headers['x-api-key'] !== undefined) {
        request.apiKey = await apiKeys.authenticate(request).catch((error: unknown) => {
          if (error instanceof HttpProblem && error.status === 401) counters.failure('api_key_invalid');
          throw error;
        });
        return;
      }
      const cookie = options.browser ? accessTokenFromCookie(request) : undefined;
      if (cookie !== undefined) {
        request.principal = await cookiePrincipal(request, reply, cookie, options.browser!);
        return;
      }
      const header = request.headers.authorization;
      const match = header ? /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(header) : null;
      if (!match || match[1]!.length > MAX_TOKEN_LENGTH) throw header === undefined ? invalidToken(reply, true) : refused(reply);
      let principal: Principal;
      try {
        const token = match[1]!;
        principal = options.oidc?.claimsToBeExternal(token) ? await options.oidc.verify(token) : await verifyAccessToken(token);
      } catch (error) {
        if (error instanceof IdentityProviderUnavailable) {
          request.log.warn({ err: error.cause }, 'identity provider unavailable');
          reply.header('retry-after', '5');
          throw new HttpProblem(503, 'service-unavailable', 'The identity provider cannot be reached to check this token; try again shortly.');
        }
        if (error instanceof InvalidAccessToken) {
          request.log.info({ reason: error.message }, 'access token refused');
          throw refused(reply);
        }
        throw error;
      }
      // External tokens have no Rampart session to revoke; their provider decides their life.
      if (!principal.external && (await options.revocations.isRevoked(principal.sessionId))) throw refused(reply);
      request.principal = principal;
    });
  },
  { name: 'rampart-authenticate' },
);

/** The principal of a route behind `authenticate` (a programming error if missing). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('route is not behind the authenticate plugin');
  return request.principal;
}
