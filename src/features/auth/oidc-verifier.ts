import { decodeJwt, jwtVerify, errors as joseErrors, type FlattenedJWSInput, type JWTHeaderParameters, type JWTPayload } from 'jose';
import type { Role } from '../../platform/db/tables.js';
import { isUuid } from '../../platform/db/uuid.js';
import { InvalidAccessToken, type Principal } from './access-tokens.js';
import { createJwksSource, IdentityProviderUnavailable } from './oidc-jwks.js';
import { isCanonicalCompactJws } from './primitives/compact-jws.js';
import type { Logger } from '../../platform/log/logger.js';
import { ROLES } from './permissions.js';

export interface OidcSettings {
  jwksUrl: string;
  issuer: string;
  audience: string;
  /** Dotted path of the claim holding the Rampart tenant id. */
  tenantClaim: string;
  /** Dotted path of the claim naming roles (a string or an array). */
  roleClaim: string;
  defaultRole: Role;
  algorithms: readonly string[];
  jwksCacheS: number;
}

export { IdentityProviderUnavailable };

export interface OidcVerifier {
  /** Whether the token claims to come from the provider (its unverified `iss`); only then is `verify` the judge. */
  claimsToBeExternal(token: string): boolean;
  /** The principal of a valid provider token; `InvalidAccessToken` or `IdentityProviderUnavailable` otherwise. */
  verify(token: string): Promise<Principal>;
}

const CLOCK_SKEW_S = 30;
// Providers differ: Keycloak and Auth0 send `JWT` or nothing, RFC 9068 profiles send `at+jwt`.
const ACCEPTED_TYP = new Set(['jwt', 'at+jwt', 'application/at+jwt']);
const ROLE_RANK: Record<Role, number> = { admin: 3, member: 2, viewer: 1 };

/**
 * A claim by name, or by dotted path when no claim has that exact name: `cognito:groups`,
 * `https://example.com/roles` (Auth0's namespaced claims) and `realm_access.roles` all work.
 */
export function claimAt(payload: JWTPayload, path: string): unknown {
  if (path in payload) return payload[path];
  let value: unknown = payload;
  for (const part of path.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** The highest of admin, member, viewer the claim names (case-insensitively), else `fallback`. */
export function roleFrom(claim: unknown, fallback: Role): Role {
  const names = typeof claim === 'string' ? claim.split(/[\s,]+/) : Array.isArray(claim) ? claim.filter((item): item is string => typeof item === 'string') : [];
  let best: Role | undefined;
  for (const name of names) {
    const role = name.toLowerCase() as Role;
    if (ROLES.includes(role) && (!best || ROLE_RANK[role] > ROLE_RANK[best])) best = role;
  }
  return best ?? fallback;
}

export function createOidcVerifier(settings: OidcSettings, logger?: Logger): OidcVerifier {
  const remoteKeys = createJwksSource({ url: new URL(settings.jwksUrl), cacheMaxAgeMs: settings.jwksCacheS * 1000, logger });

  const keyFor = async (header: JWTHeaderParameters, token: FlattenedJWSInput) => {
    // A key named by the token itself would let the token vouch for itself.
    if ('jwk' in header || 'jku' in header || 'x5u' in header || 'x5c' in header) throw new InvalidAccessToken('token names its own key');
    if (header.typ !== undefined && !ACCEPTED_TYP.has(header.typ.toLowerCase())) throw new InvalidAccessToken('not an access token');
    try {
      return await remoteKeys(header, token);
    } catch (error) {
      if (error instanceof IdentityProviderUnavailable) throw error;
      // No such key, several, or one that does not fit the token: the token's fault.
      throw new InvalidAccessToken(error instanceof joseErrors.JOSEError ? error.code : 'no usable key');
    }
  };

  return {
    claimsToBeExternal(token) {
      try {
        return decodeJwt(token).iss === settings.issuer;
      } catch {
        return false;
      }
    },
    async verify(token) {
      // Before the JWKS: a re-spelt copy of a genuine token is refused without asking the provider.
      if (!isCanonicalCompactJws(token)) throw new InvalidAccessToken('not canonical base64url');
      let payload: JWTPayload;
      try {
        // Algorithms are checked before the key is looked up: an HS256 or `none` token never reaches the JWKS.
        ({ payload } = await jwtVerify(token, keyFor, {
          algorithms: [...settings.algorithms],
          issuer: settings.issuer,
          audience: settings.audience,
          clockTolerance: CLOCK_SKEW_S,
          requiredClaims: ['exp', 'sub'],
        }));
      } catch (error) {
        if (error instanceof InvalidAccessToken || error instanceof IdentityProviderUnavailable) throw error;
        if (error instanceof joseErrors.JOSEError) throw new InvalidAccessToken(error.code);
        throw new InvalidAccessToken('unreadable token');
      }
      const tenant = claimAt(payload, settings.tenantClaim);
      // Without a tenant the token could only be guessed into one; refusing is the safe default.
      if (!isUuid(tenant)) throw new InvalidAccessToken('no tenant claim');
      const subject = payload.sub!;
      const email = typeof payload.email === 'string' ? payload.email : undefined;
      return {
        userId: `oidc:${subject}`,
        tenantId: tenant.toLowerCase(),
        role: roleFrom(claimAt(payload, settings.roleClaim), settings.defaultRole),
        sessionId: '',
        external: { subject, email },
      };
    },
  };
}
