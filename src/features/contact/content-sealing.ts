import { decryptField, encryptField, type FieldLocation } from '../../platform/crypto/field-encryption.js';
import type { FieldKeyring } from '../../platform/crypto/field-keyring.js';

/** What a sender wrote: personal data, never stored, logged or enqueued in the clear. */
export interface ContactContent {
  name: string;
  email: string;
  message: string;
}

export interface SealedContactContent {
  name_encrypted: string;
  email_encrypted: string;
  message_encrypted: string;
}

type SealedColumn = keyof SealedContactContent;

// Bound to the row and column: a ciphertext copied onto another message does not open.
const location = (messageId: string, column: SealedColumn): FieldLocation => ({ table: 'contact_messages', row: messageId, column });

/** AES-256-GCM under the current field key, the format of users' email addresses (`fe1.<kid>.…`). */
export function sealContactContent(keyring: FieldKeyring, messageId: string, content: ContactContent): SealedContactContent {
  return {
    name_encrypted: encryptField(keyring, content.name, location(messageId, 'name_encrypted')),
    email_encrypted: encryptField(keyring, content.email, location(messageId, 'email_encrypted')),
    message_encrypted: encryptField(keyring, content.message, location(messageId, 'message_encrypted')),
  };
}

/** Throws FieldDecryptionError (which quotes no content) when a value does not open. */
export function openContactContent(keyring: FieldKeyring, row: SealedContactContent & { id: string }): ContactContent {
  return {
    name: decryptField(keyring, row.name_encrypted, location(row.id, 'name_encrypted')),
    email: decryptField(keyring, row.email_encrypted, location(row.id, 'email_encrypted')),
    message: decryptField(keyring, row.message_encrypted, location(row.id, 'message_encrypted')),
  };
}
