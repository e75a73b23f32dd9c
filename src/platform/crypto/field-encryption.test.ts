import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decryptField, encryptField, FieldDecryptionError, fieldKeyId } from './field-encryption.js';
import { createFieldKeyring } from './field-keyring.js';

const entry = (kid: string) => `${kid}:${randomBytes(32).toString('base64url')}`;
const at = { table: 'users', row: '7d1f', column: 'email' };

describe('field encryption', () => {
  it('round-trips under the current key and stores the key id with the ciphertext', () => {
    const keyring = createFieldKeyring(entry('k1'));
    const stored = encryptField(keyring, 'ada@example.com', at);
    expect(stored).not.toContain('ada');
    expect(fieldKeyId(stored)).toBe('k1');
    expect(decryptField(keyring, stored, at)).toBe('ada@example.com');
  });

  it('uses a fresh nonce every time', () => {
    const keyring = createFieldKeyring(entry('k1'));
    expect(encryptField(keyring, 'same', at)).not.toBe(encryptField(keyring, 'same', at));
  });

  it('after a rotation, new values use the new key and old ones still open', () => {
    const old = entry('k1');
    const keyring = createFieldKeyring(old);
    const before = encryptField(keyring, 'ada@example.com', at);
    keyring.replace(`${entry('k2')},${old}`);
    const after = encryptField(keyring, 'ada@example.com', at);
    expect(fieldKeyId(after)).toBe('k2');
    expect(decryptField(keyring, before, at)).toBe('ada@example.com');
    expect(decryptField(keyring, after, at)).toBe('ada@example.com');
  });

  it('refuses a value moved to another row or column, tampered, or under a dropped key', () => {
    const keyring = createFieldKeyring(entry('k1'));
    const stored = encryptField(keyring, 'ada@example.com', at);
    expect(() => decryptField(keyring, stored, { ...at, row: 'other' })).toThrow(FieldDecryptionError);
    expect(() => decryptField(keyring, stored, { ...at, column: 'name' })).toThrow(FieldDecryptionError);
    const parts = stored.split('.');
    parts[3] = Buffer.from('mallory@evil.example').toString('base64url');
    expect(() => decryptField(keyring, parts.join('.'), at)).toThrow(FieldDecryptionError);
    keyring.replace(entry('k9'));
    expect(() => decryptField(keyring, stored, at)).toThrow(/key k1 is not in FIELD_ENCRYPTION_KEYS/);
  });

  it('keeps the keys in use when a malformed value arrives', () => {
    const keyring = createFieldKeyring(entry('k1'));
    expect(() => keyring.replace('k2:short')).toThrow();
    expect(keyring.currentKid()).toBe('k1');
  });
});
