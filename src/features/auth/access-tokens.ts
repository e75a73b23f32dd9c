import { SignJWT, jwtVerify, errors as joseErrors, type JWTHeaderParameters, type FlattenedJWSInput } from 'jose';
import type { Role } from '../../platform/db/tables.js';
import { isCanonicalCompactJws } from './primitives/compact-jws.js';
import { SIGNING_ALG, type Keyring } from './signing-keys.js';

export interface TokenSettings {
  issuer: string;
  audience: string;
  accessTtlS: number;
}

/** The caller a valid access token speaks for. */
export interface Principal {
  userId: string;
  tenantId: string;
  role: Role;
  sessionId: string;
  /**
   * Set for a token from the external OIDC provider: no Rampart session or user row stands
   * behind it (`sessionId` is empty), so revocation checks and own-account routes do not apply.
   */
  external?: { subject: string; email: string | undefined };
}

export class InvalidAccessToken extends Error {}

const ROLES: readonly string[] = ['admin', 'member', 'viewer'] satisfies Role[];
// Our kids are RFC 7638 thumbprints; anything else (paths, SQL, 10 kB strings) is refused
// before it reaches a lookup.
const KID = /^[A-Za-z0-9_-]{43}$/;
const CLOCK_SKEW_S = 30;

/**
 * Signs an access token for the refresh token `grant` (its id is the `jti`). Ed25519
 * signatures are deterministic, so the same grant gives the same token: that is how a
 * concurrent refresh gets the very same pair.
 */
export function issueAccessToken(keyring: Keyring, settings: TokenSettings, principal: Principal, grant: { id: string; issuedAt: Date }): Promise<string> {
  const key = keyring.current();
  const iat = Math.floor(grant.issuedAt.getTime() / 1000);
  return new SignJWT({ tid: principal.tenantId, role: principal.role, sid: principal.sessionId, typ: 'access' })
    .setProtectedHeader({ alg: SIGNING_ALG, kid: key.kid, typ: 'JWT' })
    .setSubject(principal.userId)
    .setJti(grant.id)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + settings.accessTtlS)
    .sign(key.privateKey);
}

/** Checks signature (EdDSA only, our keys only), typ, iss, aud and exp. Revocation is the caller's step. */
export async function verifyAccessToken(keyring: Keyring, settings: TokenSettings, token: string): Promise<Principal> {
  return (await verifySignedToken(keyring, settings, token)).principal;
}

export type AccessTokenVerifier = (token: string) => Promise<Principal>;

// Enough for every token active on a busy instance within its 15 minutes; each entry is a
// few hundred bytes.
const VERIFIED_TOKENS_MAX = 20_000;

/**
 * `verifyAccessToken` that remembers tokens it has verified, by their exact text: a client
 * sends the same token for its whole 15 minutes, and the Ed25519 check dominated the cost of
 * a protected request. A remembered token is still refused once it expires (same skew) or
 * once its key has left the keyring; any other text (a tampered copy) is a miss and is
 * checked in full. Revocation is the caller's step, on every request, as before.
 */
export function cachedAccessTokenVerifier(keyring: Keyring, settings: TokenSettings, maxEntries = VERIFIED_TOKENS_MAX): AccessTokenVerifier {
  const verified = new Map<string, VerifiedToken>();
  return async (token) => {
    const known = verified.get(token);
    if (known) {
      if (Date.now() < known.usableUntilMs && (await keyring.find(known.kid))) return known.principal;
      verified.delete(token);
    }
    const fresh = await verifySignedToken(keyring, settings, token);
    // Oldest first out: a Map iterates in insertion order.
    if (verified.size >= maxEntries) verified.delete(verified.keys().next().value!);
    verified.set(token, fresh);
    return fresh.principal;
  };
}

interface VerifiedToken {
  principal: Principal;
  kid: string;
  /** exp plus the clock skew jwtVerify allows, in ms. */
  usableUntilMs: number;
}

async function verifySignedToken(keyring: Keyring, settings: TokenSettings, token: string): Promise<VerifiedToken> {
  if (!isCanonicalCompactJws(token)) throw new InvalidAccessToken('not canonical base64url');
  const keyFor = async (header: JWTHeaderParameters, _token: FlattenedJWSInput) => {
    // A key named by the token itself would let the token vouch for itself.
    if ('jwk' in header || 'jku' in header || 'x5u' in header || 'x5c' in header) throw new InvalidAccessToken('token names its own key');
    if (typeof header.kid !== 'string' || !KID.test(header.kid)) throw new InvalidAccessToken('malformed kid');
    const key = await keyring.find(header.kid);
    if (!key) throw new InvalidAccessToken('unknown kid');
    return key.publicKey;
  };
  try {
    const { payload, protectedHeader } = await jwtVerify(token, keyFor, {
      algorithms: [SIGNING_ALG],
      issuer: settings.issuer,
      audience: settings.audience,
      clockTolerance: CLOCK_SKEW_S,
      requiredClaims: ['exp', 'iat', 'sub'],
    });
    const { sub, tid, role, sid, typ } = payload;
    if (typ !== 'access') throw new InvalidAccessToken('not an access token');
    if (typeof sub !== 'string' || typeof tid !== 'string' || typeof sid !== 'string' || typeof role !== 'string' || !ROLES.includes(role)) {
      throw new InvalidAccessToken('missing claims');
    }
    return {
      principal: { userId: sub, tenantId: tid, sessionId: sid, role: role as Role },
      kid: protectedHeader.kid!,
      usableUntilMs: (payload.exp! + CLOCK_SKEW_S) * 1000,
    };
  } catch (error) {
    if (error instanceof InvalidAccessToken) throw error;
    if (error instanceof joseErrors.JOSEError) throw new InvalidAccessToken(error.code);
    throw new InvalidAccessToken('unreadable token');
  }
}
