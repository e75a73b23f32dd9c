import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { FieldKeyring } from './field-keyring.js';

/** Where a value lives. Authenticated with it, so a ciphertext copied to another row or column does not open. */
export interface FieldLocation {
  table: string;
  row: string;
  column: string;
}

// `fe1.<kid>.<nonce>.<ciphertext>.<tag>`, parts base64url: the key id travels with the value.
const PREFIX = 'fe1';

const associatedData = (kid: string, at: FieldLocation) => Buffer.from([PREFIX, kid, at.table, at.row, at.column].join('\u0000'));

/** AES-256-GCM under the current key with a fresh random 96-bit nonce. */
export function encryptField(keyring: FieldKeyring, plaintext: string, at: FieldLocation): string {
  const kid = keyring.currentKid();
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyring.key(kid)!, nonce);
  cipher.setAAD(associatedData(kid, at));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [PREFIX, kid, nonce.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}

export class FieldDecryptionError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'FieldDecryptionError';
  }
}

/** The key id a stored value was encrypted with (for re-encryption), or undefined when it is not ours. */
export function fieldKeyId(stored: string): string | undefined {
  const [prefix, kid] = stored.split('.');
  return prefix === PREFIX ? kid : undefined;
}

/** Throws FieldDecryptionError for an unknown key id, another location or tampering; never says more. */
export function decryptField(keyring: FieldKeyring, stored: string, at: FieldLocation): string {
  const [prefix, kid, nonce, ciphertext, tag, extra] = stored.split('.');
  if (prefix !== PREFIX || !kid || !nonce || ciphertext === undefined || !tag || extra !== undefined) throw new FieldDecryptionError('not an encrypted field value');
  const key = keyring.key(kid);
  if (!key) throw new FieldDecryptionError(`field-encryption key ${kid} is not in FIELD_ENCRYPTION_KEYS`);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(nonce, 'base64url'));
    decipher.setAAD(associatedData(kid, at));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  } catch (cause) {
    throw new FieldDecryptionError(`value does not open with key ${kid} at ${at.table}.${at.column}`, { cause });
  }
}
