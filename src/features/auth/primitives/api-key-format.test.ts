import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey, parseApiKey } from './api-key-format.js';

const pepper = 'pepper-for-tests-0123456789abcdef';
const KEY_FORMAT = /^rk_(live|test)_[0-9A-Za-z]{38}$/;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

// An independent encoding of the checksum, from Node's own CRC32, so a scanner written
// against the documented format agrees with ours.
function referenceChecksum(text: string): string {
  let value = crc32(text);
  let out = '';
  for (let i = 0; i < 6; i++) {
    out = BASE62[value % 62] + out;
    value = Math.floor(value / 62);
  }
  return out;
}

describe('API key format', () => {
  it('generates rk_live_ and rk_test_ keys: 32 random base62 characters and a 6-character checksum', () => {
    const live = generateApiKey('live', pepper);
    const test = generateApiKey('test', pepper);
    expect(live.key).toMatch(KEY_FORMAT);
    expect(live.key.startsWith('rk_live_')).toBe(true);
    expect(test.key.startsWith('rk_test_')).toBe(true);
    expect(live.key).toHaveLength(46);
  });

  it('gives the first 12 characters as the display prefix and the peppered hash', () => {
    const { key, prefix, hash } = generateApiKey('live', pepper);
    expect(prefix).toBe(key.slice(0, 12));
    expect(hash).toBe(hashApiKey(key, pepper));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('uses the standard CRC32 (as zlib computes it) for the checksum', () => {
    const { key } = generateApiKey('test', pepper);
    expect(key.slice(-6)).toBe(referenceChecksum(key.slice(0, -6)));
  });

  it('parses a generated key back into its environment and body', () => {
    const { key } = generateApiKey('test', pepper);
    expect(parseApiKey(key)).toEqual({ env: 'test', body: key.slice(8, 40), prefix: key.slice(0, 12) });
  });

  it('rejects a key with any single character changed, at every position', () => {
    for (let round = 0; round < 20; round++) {
      const { key } = generateApiKey(round % 2 ? 'live' : 'test', pepper);
      for (let i = 0; i < key.length; i++) {
        for (const replacement of ['0', 'a', 'Z', '_']) {
          if (key[i] === replacement) continue;
          expect(parseApiKey(key.slice(0, i) + replacement + key.slice(i + 1)), `${key} @${i}`).toBeNull();
        }
      }
    }
  });

  it('rejects two adjacent characters swapped', () => {
    const { key } = generateApiKey('live', pepper);
    for (let i = 8; i < key.length - 1; i++) {
      if (key[i] === key[i + 1]) continue;
      const swapped = key.slice(0, i) + key[i + 1] + key[i] + key.slice(i + 2);
      expect(parseApiKey(swapped)).toBeNull();
    }
  });

  it('never repeats a key over 10,000 generations', () => {
    const keys = new Set(Array.from({ length: 10_000 }, () => generateApiKey('live', pepper).key));
    expect(keys.size).toBe(10_000);
  });

  it('draws every base62 character in the body, so the entropy estimate holds', () => {
    const bodies = Array.from({ length: 200 }, () => generateApiKey('live', pepper).key.slice(8, 40)).join('');
    expect(new Set(bodies).size).toBe(62);
  });

  it('hashes differently under a different pepper, and never contains the key', () => {
    const { key } = generateApiKey('live', pepper);
    const other = hashApiKey(key, 'another-pepper-0123456789abcdef');
    expect(other).not.toBe(hashApiKey(key, pepper));
    expect(hashApiKey(key, pepper)).not.toContain(key.slice(8));
  });

  it('refuses a pepper too short to be a secret', () => {
    expect(() => hashApiKey('rk_live_x', '')).toThrow(RangeError);
    expect(() => generateApiKey('live', 'short')).toThrow(RangeError);
  });

  const valid = generateApiKey('live', pepper).key;
  const malformed: Array<[string, unknown]> = [
    ['empty string', ''],
    ['wrong prefix', `rk_prod_${valid.slice(8)}`],
    ['other vendor prefix', `sk_live_${valid.slice(8)}`],
    ['upper-case prefix', valid.replace('rk_live_', 'RK_LIVE_')],
    ['one character short', valid.slice(0, -1)],
    ['one character long', `${valid}0`],
    ['surrounding whitespace', ` ${valid}`],
    ['SQL payload', "rk_live_' OR '1'='1' --aaaaaaaaaaaaaaaaaaaaaa"],
    ['SQL payload at full length', `rk_live_${"'; DROP TABLE api_keys;--".padEnd(38, 'x')}`],
    ['Cyrillic look-alike letter', `${valid.slice(0, 20)}а${valid.slice(21)}`],
    ['emoji', `rk_live_${'🔑'.repeat(19)}`],
    ['NUL bytes', `rk_live_${'\0'.repeat(38)}`],
    ['10 KB string', `rk_live_${'A'.repeat(10_240)}`],
    ['number', 42],
    ['null', null],
    ['object', { key: valid }],
  ];

  it.each(malformed)('returns null for %s without throwing', (_name, input) => {
    expect(parseApiKey(input)).toBeNull();
  });

  it('returns null for a 10 MB string quickly', () => {
    const huge = `rk_live_${'A'.repeat(10 * 1024 * 1024)}`;
    const started = performance.now();
    for (let i = 0; i < 1_000; i++) expect(parseApiKey(huge)).toBeNull();
    expect(performance.now() - started).toBeLessThan(100);
  });
});
