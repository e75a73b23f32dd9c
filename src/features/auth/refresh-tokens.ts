import { createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';

/** A new opaque refresh token: 256 random bits, base64url. */
export function newRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

/** What the database keeps: SHA-256 (the token has 256 bits of entropy; no slow hash needed). */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

export function deriveRotationKey(appSecret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', appSecret, 'rampart', 'refresh-tokens/rotation/v1', 32));
}

/**
 * The token that replaces `token` on rotation: a keyed function of it. Only hashes are
 * stored, yet a concurrent caller presenting the same old token within the reuse interval
 * can be handed the very same successor. Unpredictable without APP_SECRET's derived key.
 */
export function successorOf(token: string, rotationKey: Buffer): string {
  return createHmac('sha256', rotationKey).update(token).digest('base64url');
}
