import { createHash, randomBytes } from 'node:crypto';
import Type from 'typebox';
import type { Identity } from './identity.js';
import { insertMfaChallenge } from './mfa-store.js';
import { writeAuditEvent, type RequestContext, type UserRow } from './store.js';

// Long enough to open the app and type a code; short enough that a leaked token is stale.
export const MFA_TOKEN_TTL_S = 300;
// Wrong codes a challenge survives; then the password has to be entered again.
export const MFA_MAX_FAILED_ATTEMPTS = 5;

export const MfaChallengeSchema = Type.Object({
  mfa_required: Type.Literal(true),
  mfa_token: Type.String({ description: `Send it with a code to POST /v1/auth/mfa/verify within ${MFA_TOKEN_TTL_S} s; it works once.` }),
});

export interface MfaChallenge {
  mfa_required: true;
  mfa_token: string;
}

/** Opaque and random (256 bits); not a JWT, so nothing that verifies access tokens can mistake it for one. */
export const newMfaToken = () => randomBytes(32).toString('base64url');
export const hashMfaToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** The password was right and the account has MFA on: no session yet, only a token for the second step. */
export async function startMfaChallenge(identity: Identity, user: Pick<UserRow, 'id' | 'tenant_id'>, context: RequestContext, now = new Date()): Promise<MfaChallenge> {
  const token = newMfaToken();
  await insertMfaChallenge(identity.db, { tokenHash: hashMfaToken(token), userId: user.id, expiresAt: new Date(now.getTime() + MFA_TOKEN_TTL_S * 1000) });
  await writeAuditEvent(identity.db, context, { action: 'auth.login.mfa_required', tenantId: user.tenant_id, actorId: user.id });
  return { mfa_required: true, mfa_token: token };
}
