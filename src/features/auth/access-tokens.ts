import { SignJWT, jwtVerify, errors as joseErrors, type JWTHeaderParameters, type FlattenedJWSInput } from 'jose';
import type { Role } from '../../platform/db/tables.js';
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
  const keyFor = async (header: JWTHeaderParameters, _token: FlattenedJWSInput) => {
    // A key named by the token itself would let the token vouch for itself.
    if ('jwk' in header || 'jku' in header || 'x5u' in header || 'x5c' in header) throw new InvalidAccessToken('token names its own key');
    if (typeof header.kid !== 'string' || !KID.test(header.kid)) throw new InvalidAccessToken('malformed kid');
    const key = await keyring.find(header.kid);
    if (!key) throw new InvalidAccessToken('unknown kid');
    return key.publicKey;
  };
  try {
    const { payload } = await jwtVerify(token, keyFor, {
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
    return { userId: sub, tenantId: tid, sessionId: sid, role: role as Role };
  } catch (error) {
    if (error instanceof InvalidAccessToken) throw error;
    if (error instanceof joseErrors.JOSEError) throw new InvalidAccessToken(error.code);
    throw new InvalidAccessToken('unreadable token');
  }
}
