import { hkdfSync } from 'node:crypto';
import { decryptField, encryptField } from '../../platform/crypto/field-encryption.js';
import type { FieldKeyring } from '../../platform/crypto/field-keyring.js';
import { createLookupHasher } from '../../platform/crypto/lookup-hash.js';

/**
 * Email addresses at rest: AES-256-GCM under the current field-encryption key, bound to
 * `users.<id>.email_encrypted`, plus a keyed hash of the lower-cased address for sign-in
 * lookups and the uniqueness indexes. The plaintext column is only read for rows written
 * before migration 0008, until the re-encryption job moves them.
 */
export interface EmailProtection {
  keyring: FieldKeyring;
  lookupHash(email: string): string;
  seal(email: string, userId: string): string;
  /** The address of a stored row, whichever form it is in. */
  open(row: { id: string; email: string | null; email_encrypted: string | null }): string;
}

export const EMAIL_LOCATION = (userId: string) => ({ table: 'users', row: userId, column: 'email_encrypted' });

export function createEmailProtection(keyring: FieldKeyring, appSecret: string): EmailProtection {
  const hash = createLookupHasher(appSecret, 'users.email');
  return {
    keyring,
    lookupHash: (email) => hash(email.trim().toLowerCase()),
    seal: (email, userId) => encryptField(keyring, email, EMAIL_LOCATION(userId)),
    open(row) {
      if (row.email_encrypted !== null) return decryptField(keyring, row.email_encrypted, EMAIL_LOCATION(row.id));
      if (row.email !== null) return row.email;
      throw new Error(`user ${row.id} has no email address`);
    },
  };
}

/**
 * A field key derived from APP_SECRET, for identities built without FIELD_ENCRYPTION_KEYS
 * (tests, tools). The servers always get the configured keys: development generates them,
 * production refuses to start without them.
 */
export function deriveFallbackFieldKeys(appSecret: string): string {
  return `derived:${Buffer.from(hkdfSync('sha256', appSecret, 'rampart', 'field-encryption/fallback', 32)).toString('base64url')}`;
}
