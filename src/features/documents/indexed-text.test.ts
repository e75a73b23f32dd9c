import { describe, expect, it } from 'vitest';
import { MAX_INDEXED_BYTES, normaliseText } from './indexed-text.js';

describe('normaliseText', () => {
  it('removes NUL and control characters PostgreSQL or snippets cannot take', () => {
    expect(normaliseText('a\u0000b\u0007c')).toBe('a b c');
  });

  it('caps the text on a character boundary', () => {
    const capped = normaliseText('é'.repeat(MAX_INDEXED_BYTES));
    expect(Buffer.byteLength(capped)).toBeLessThanOrEqual(MAX_INDEXED_BYTES);
    expect(capped).not.toContain('\uFFFD');
  });
});
