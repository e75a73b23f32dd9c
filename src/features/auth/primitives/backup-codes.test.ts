import { describe, expect, it } from 'vitest';
import {
  BACKUP_CODE_BITS,
  generateBackupCodes,
  hashBackupCode,
  matchBackupCode,
  normaliseBackupCode,
} from './backup-codes.js';

describe('backup codes', () => {
  it('generates ten codes by default, grouped for reading, each with at least 112 bits of entropy', () => {
    const codes = generateBackupCodes();
    expect(codes).toHaveLength(10);
    for (const code of codes) expect(code).toMatch(/^([0-9a-hjkmnp-tv-z]{5}-){4}[0-9a-hjkmnp-tv-z]{5}$/);
    expect(BACKUP_CODE_BITS).toBeGreaterThanOrEqual(112);
  });

  it('never repeats a code across many generations', () => {
    const codes = generateBackupCodes(5_000);
    expect(new Set(codes).size).toBe(5_000);
  });

  it('uses every symbol of the alphabet, so the entropy estimate holds', () => {
    const symbols = new Set(generateBackupCodes(200).join('').replace(/-/g, ''));
    expect(symbols.size).toBe(32);
  });

  it('stores a SHA-256 hex hash, never the code', () => {
    const [code] = generateBackupCodes(1) as [string];
    const hash = hashBackupCode(code);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).not.toContain(code.replace(/-/g, ''));
  });

  it('matches a code typed in upper case, without dashes, or with spaces', () => {
    const codes = generateBackupCodes(3);
    const hashes = codes.map(hashBackupCode);
    const code = codes[1] as string;
    expect(matchBackupCode(code, hashes)).toBe(1);
    expect(matchBackupCode(code.toUpperCase(), hashes)).toBe(1);
    expect(matchBackupCode(code.replace(/-/g, ''), hashes)).toBe(1);
    expect(matchBackupCode(`  ${code.replace(/-/g, ' ')} `, hashes)).toBe(1);
  });

  it('reads I and L as 1 and O as 0, as Crockford base32 does', () => {
    expect(normaliseBackupCode('10000-11111-00000-11111-00000')).toBe('1000011111000001111100000');
    expect(normaliseBackupCode('lOOOO-iIlLi-ooooo-11111-00000')).toBe('1000011111000001111100000');
  });

  it('finds no match for a near miss: one character changed, dropped or added', () => {
    const codes = generateBackupCodes(10);
    const hashes = codes.map(hashBackupCode);
    const compact = (codes[0] as string).replace(/-/g, '');
    for (let i = 0; i < compact.length; i++) {
      const original = compact[i] as string;
      const replacement = original === 'a' ? 'b' : 'a';
      expect(matchBackupCode(compact.slice(0, i) + replacement + compact.slice(i + 1), hashes)).toBe(-1);
    }
    expect(matchBackupCode(compact.slice(1), hashes)).toBe(-1);
    expect(matchBackupCode(`${compact}0`, hashes)).toBe(-1);
  });

  it.each(['', 'u'.repeat(25), "' OR 1=1 --", '<script>alert(1)</script>', 'x'.repeat(10_000), null, 42, {}])(
    'returns -1 for the malformed input %j without throwing',
    (input) => {
      const hashes = generateBackupCodes(2).map(hashBackupCode);
      expect(matchBackupCode(input, hashes)).toBe(-1);
    },
  );

  it('ignores stored values that are not SHA-256 hashes instead of throwing', () => {
    const [code] = generateBackupCodes(1) as [string];
    expect(matchBackupCode(code, ['', 'not-hex', 'abcd', hashBackupCode(code)])).toBe(3);
  });

  it('refuses to hash a string that is not a backup code', () => {
    expect(() => hashBackupCode('hunter2')).toThrow(TypeError);
  });
});
