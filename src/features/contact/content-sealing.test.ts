import { describe, expect, it } from 'vitest';
import { FieldDecryptionError } from '../../platform/crypto/field-encryption.js';
import { createFieldKeyring } from '../../platform/crypto/field-keyring.js';
import { openContactContent, sealContactContent } from './content-sealing.js';

const key = (byte: number) => Buffer.alloc(32, byte).toString('base64url');
const content = { name: 'Ann Example', email: 'ann@example.com', message: 'Please call me back about the invoice.' };

describe('contact content sealing', () => {
  it('stores no plaintext and opens back to what was sent', () => {
    const keyring = createFieldKeyring(`k1:${key(1)}`);
    const sealed = sealContactContent(keyring, 'a7e9c1b2-0000-4000-8000-000000000001', content);
    for (const value of Object.values(sealed)) {
      expect(value).toMatch(/^fe1\.k1\./);
      for (const plain of Object.values(content)) expect(value).not.toContain(plain);
    }
    expect(openContactContent(keyring, { id: 'a7e9c1b2-0000-4000-8000-000000000001', ...sealed })).toEqual(content);
  });

  it('refuses a ciphertext moved to another message or another column', () => {
    const keyring = createFieldKeyring(`k1:${key(1)}`);
    const sealed = sealContactContent(keyring, 'a7e9c1b2-0000-4000-8000-000000000001', content);
    expect(() => openContactContent(keyring, { id: 'a7e9c1b2-0000-4000-8000-000000000002', ...sealed })).toThrow(FieldDecryptionError);
    const swapped = { ...sealed, name_encrypted: sealed.message_encrypted };
    expect(() => openContactContent(keyring, { id: 'a7e9c1b2-0000-4000-8000-000000000001', ...swapped })).toThrow(FieldDecryptionError);
  });

  it('still opens messages sealed before a key rotation', () => {
    const keyring = createFieldKeyring(`k1:${key(1)}`);
    const sealed = sealContactContent(keyring, 'a7e9c1b2-0000-4000-8000-000000000001', content);
    keyring.replace(`k2:${key(2)},k1:${key(1)}`);
    expect(openContactContent(keyring, { id: 'a7e9c1b2-0000-4000-8000-000000000001', ...sealed })).toEqual(content);
    expect(sealContactContent(keyring, 'a7e9c1b2-0000-4000-8000-000000000001', content).message_encrypted).toMatch(/^fe1\.k2\./);
  });
});
