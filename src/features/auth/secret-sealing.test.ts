import { describe, expect, it } from 'vitest';
import { deriveSealingKey, openSealedSecret, sealSecret, UnsealError } from './secret-sealing.js';

const appSecret = 'an-app-secret-of-at-least-32-characters';
const key = deriveSealingKey(appSecret, 'test/aes-256-gcm/v1');

describe('secret sealing', () => {
  it('round-trips a secret, with a fresh IV each time so equal secrets do not look equal', () => {
    const secret = Buffer.from('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
    const a = sealSecret(secret, 'row-1', key);
    const b = sealSecret(secret, 'row-1', key);

    expect(a).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain(secret.toString('base64url'));
    expect(openSealedSecret(a, 'row-1', key)).toEqual(secret);
    expect(openSealedSecret(b, 'row-1', key)).toEqual(secret);
  });

  it('derives a different key for each purpose and each APP_SECRET', () => {
    expect(deriveSealingKey(appSecret, 'mfa-totp/aes-256-gcm/v1')).not.toEqual(deriveSealingKey(appSecret, 'signing-keys/aes-256-gcm/v1'));
    expect(deriveSealingKey('another-app-secret-of-at-least-32-chars', 'test/aes-256-gcm/v1')).not.toEqual(key);
    expect(key).toHaveLength(32);
  });

  it('refuses another key, another row, a flipped byte and an unknown format', () => {
    const sealed = sealSecret(Buffer.from('secret'), 'row-1', key);
    const [version, iv, ciphertext, tag] = sealed.split('.') as [string, string, string, string];
    const flipped = Buffer.from(ciphertext, 'base64url');
    flipped[0]! ^= 1;

    expect(() => openSealedSecret(sealed, 'row-1', deriveSealingKey(appSecret, 'another purpose'))).toThrow(UnsealError);
    expect(() => openSealedSecret(sealed, 'row-2', key)).toThrow(UnsealError);
    expect(() => openSealedSecret([version, iv, flipped.toString('base64url'), tag].join('.'), 'row-1', key)).toThrow(UnsealError);
    expect(() => openSealedSecret(['v2', iv, ciphertext, tag].join('.'), 'row-1', key)).toThrow(/unknown sealed-secret format/);
    expect(() => openSealedSecret(`${sealed}.extra`, 'row-1', key)).toThrow(/unknown sealed-secret format/);
  });
});
