import { createHmac, randomBytes } from 'node:crypto';

// The layout GitHub uses for its tokens: a fixed, greppable prefix lets secret scanners
// find leaked keys, and a CRC32 checksum lets them (and us, before any database lookup)
// reject a random-looking string or a mistyped key offline.
//   rk_live_ + 32 base62 (≈190 bits of randomness) + 6 base62 (CRC32 of everything before)
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BODY_LENGTH = 32;
const CHECKSUM_LENGTH = 6; // 62^6 > 2^32, so every CRC32 value fits
const PREFIXES = { live: 'rk_live_', test: 'rk_test_' } as const;
const KEY_LENGTH = PREFIXES.live.length + BODY_LENGTH + CHECKSUM_LENGTH;
const DISPLAY_PREFIX_LENGTH = 12;
const KEY_PATTERN = /^rk_(live|test)_([0-9A-Za-z]{32})([0-9A-Za-z]{6})$/;
/** A key anywhere in a text (an error message quoting it), for scrubbing error reports. */
export const API_KEY_IN_TEXT = /\brk_(?:live|test)_[0-9A-Za-z]{38}\b/g;
// Below this a pepper is a placeholder, not a secret; refuse it rather than hash weakly.
const MIN_PEPPER_BYTES = 16;

export type ApiKeyEnv = keyof typeof PREFIXES;

export interface GeneratedApiKey {
  /** Shown to the user once, never stored. */
  key: string;
  /** The first 12 characters (`rk_live_` + 4), safe to store and show in listings. */
  prefix: string;
  /** `hashApiKey(key, pepper)`: what the database keeps. */
  hash: string;
}

export interface ParsedApiKey {
  env: ApiKeyEnv;
  /** The 32 random characters. */
  body: string;
  prefix: string;
}

export function generateApiKey(env: ApiKeyEnv, pepper: string | Buffer): GeneratedApiKey {
  const unsigned = PREFIXES[env] + randomBase62(BODY_LENGTH);
  const key = unsigned + checksum(unsigned);
  return { key, prefix: key.slice(0, DISPLAY_PREFIX_LENGTH), hash: hashApiKey(key, pepper) };
}

/**
 * The parts of a well-formed key with a correct checksum, or null for anything else
 * (wrong prefix, length, characters or checksum). Never throws, and checks the length
 * before any pattern so a megabyte header costs nothing.
 */
export function parseApiKey(text: unknown): ParsedApiKey | null {
  if (typeof text !== 'string' || text.length !== KEY_LENGTH) return null;
  const match = KEY_PATTERN.exec(text);
  if (match === null) return null;
  const [, env, body, sum] = match as unknown as [string, ApiKeyEnv, string, string];
  if (checksum(text.slice(0, -CHECKSUM_LENGTH)) !== sum) return null;
  return { env, body, prefix: text.slice(0, DISPLAY_PREFIX_LENGTH) };
}

/**
 * HMAC-SHA-256 (hex) of the key under a server-side pepper, so a stolen table of hashes
 * is useless without the pepper. Keys carry ≥ 128 random bits, so no slow hash is needed.
 */
export function hashApiKey(key: string, pepper: string | Buffer): string {
  if (Buffer.byteLength(pepper) < MIN_PEPPER_BYTES) {
    throw new RangeError(`API key pepper must be at least ${MIN_PEPPER_BYTES} bytes`);
  }
  return createHmac('sha256', pepper).update(key).digest('hex');
}

function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // Rejection sampling: 248 = 4 × 62, so keeping bytes below it leaves no modulo bias.
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}

function checksum(text: string): string {
  let value = crc32(Buffer.from(text, 'latin1'));
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62[value % 62] + out;
    value = Math.floor(value / 62);
  }
  return out;
}

// zlib.crc32 only exists from Node 20.15; the engines field allows 20.11.
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = (CRC_TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
