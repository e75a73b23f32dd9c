import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

// The stored format: `v1.<iv>.<ciphertext>.<tag>`, each part base64url. Signing keys written
// before this module existed use the same format, so they still open.
const FORMAT_VERSION = 'v1';

/**
 * A 256-bit AES key derived from APP_SECRET for one purpose (`info`), so a key never
 * protects two kinds of data and one purpose's ciphertext cannot be opened as another's.
 */
export function deriveSealingKey(appSecret: string, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', appSecret, 'rampart', info, 32));
}

/**
 * AES-256-GCM with a fresh 96-bit IV. `boundTo` (the row's id) is authenticated too, so a
 * ciphertext copied to another row does not open there.
 */
export function sealSecret(plaintext: Buffer, boundTo: string, key: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(boundTo));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return [FORMAT_VERSION, iv.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}

export class UnsealError extends Error {}

/** Throws `UnsealError` for an unknown format, another key (APP_SECRET changed), another row or tampering. */
export function openSealedSecret(sealed: string, boundTo: string, key: Buffer): Buffer {
  const [version, iv, ciphertext, tag, extra] = sealed.split('.');
  if (version !== FORMAT_VERSION || !iv || !ciphertext || !tag || extra !== undefined) throw new UnsealError('unknown sealed-secret format');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(boundTo));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]);
  } catch (cause) {
    throw new UnsealError('sealed secret does not open with this key', { cause });
  }
}
