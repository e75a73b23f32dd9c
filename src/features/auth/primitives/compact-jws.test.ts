import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isCanonicalBase64url, isCanonicalCompactJws } from './compact-jws.js';

describe('canonical base64url', () => {
  it('accepts what an encoder writes, for every length of the last group', () => {
    for (let length = 0; length < 200; length++) {
      const bytes = randomBytes(length);
      expect(isCanonicalBase64url(bytes.toString('base64url')), `${length} bytes`).toBe(true);
    }
  });

  it('refuses padding, foreign characters, impossible lengths and set unused bits', () => {
    const encoded = Buffer.from('any carnal pleas').toString('base64url'); // 16 bytes: 4 unused bits at the end
    expect(isCanonicalBase64url(encoded)).toBe(true);
    expect(isCanonicalBase64url(`${encoded}==`)).toBe(false);
    expect(isCanonicalBase64url(`${encoded}=`)).toBe(false);
    for (const foreign of ['ab+c', 'ab/c', 'ab c', 'abc\n']) expect(isCanonicalBase64url(foreign), foreign).toBe(false);
    expect(isCanonicalBase64url('abcde')).toBe(false);
    // Every other character with the same six-bit prefix decodes to the same bytes.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(encoded.at(-1)!);
    for (let low = 1; low < 16; low++) {
      const twin = `${encoded.slice(0, -1)}${alphabet[last | low]}`;
      expect(Buffer.from(twin, 'base64url').equals(Buffer.from(encoded, 'base64url'))).toBe(true);
      expect(isCanonicalBase64url(twin), twin).toBe(false);
    }
  });

  it('wants exactly three canonical segments', () => {
    expect(isCanonicalCompactJws('eyJhbGciOiJFZERTQSJ9.e30.AAAA')).toBe(true);
    expect(isCanonicalCompactJws('eyJhbGciOiJFZERTQSJ9.e30')).toBe(false);
    expect(isCanonicalCompactJws('eyJhbGciOiJFZERTQSJ9.e30.AAAA.AAAA')).toBe(false);
    expect(isCanonicalCompactJws('eyJhbGciOiJFZERTQSJ9==.e30.AAAA')).toBe(false);
  });
});
