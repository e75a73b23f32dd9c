import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

// ASVS 5.0 6.5.2 allows an unsalted SHA-256 only for secrets with at least 112 bits of
// entropy; a slow salted hash per code would cost ten argon2 runs per sign-in attempt.
// 25 Crockford base32 characters carry 125 bits and read aloud without ambiguity.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CODE_LENGTH = 25;
const GROUP_LENGTH = 5;
export const BACKUP_CODE_BITS = CODE_LENGTH * Math.log2(ALPHABET.length);

/**
 * `n` fresh backup codes as shown to the user, e.g. `7k2qd-x9mzt-0c4fh-wbn8r-3vyes`.
 * Store only `hashBackupCode(code)` for each. Single use is the caller's job: delete (or
 * mark used) the matched hash in the same transaction that accepts the sign-in.
 */
export function generateBackupCodes(n = 10): string[] {
  return Array.from({ length: n }, generateBackupCode);
}

function generateBackupCode(): string {
  // 256 is a multiple of 32, so masking a byte to 5 bits is unbiased.
  const symbols = Array.from(randomBytes(CODE_LENGTH), (byte) => ALPHABET[byte & 31]).join('');
  const groups = symbols.match(new RegExp(`.{1,${GROUP_LENGTH}}`, 'g')) ?? [];
  return groups.join('-').toLowerCase();
}

/**
 * The canonical form of a typed code, or null if it cannot be one: case, dashes and
 * spaces are ignored, and the letters Crockford base32 reads as digits (I, L → 1; O → 0)
 * are mapped, so a code copied from paper still matches.
 */
export function normaliseBackupCode(text: unknown): string | null {
  if (typeof text !== 'string' || text.length > 64) return null;
  const canonical = text
    .replace(/[\s-]/g, '')
    .toUpperCase()
    .replace(/[IL]/g, '1')
    .replace(/O/g, '0');
  return canonical.length === CODE_LENGTH && /^[0-9A-HJKMNP-TV-Z]+$/.test(canonical) ? canonical : null;
}

/** SHA-256 (hex) of the normalised code: what is stored. Throws for a string that is not a code. */
export function hashBackupCode(code: string): string {
  const canonical = normaliseBackupCode(code);
  if (canonical === null) throw new TypeError('not a backup code');
  return createHash('sha256').update(canonical).digest('hex');
}

/**
 * The index in `hashes` of the hash the typed code matches, or -1 (also for malformed
 * input). Every stored hash is compared in constant time, whatever matches.
 */
export function matchBackupCode(code: unknown, hashes: readonly string[]): number {
  const canonical = normaliseBackupCode(code);
  if (canonical === null) return -1;
  const candidate = createHash('sha256').update(canonical).digest();
  let found = -1;
  hashes.forEach((stored, index) => {
    const storedBytes = Buffer.from(stored, 'hex');
    if (storedBytes.length === candidate.length && timingSafeEqual(storedBytes, candidate) && found === -1) {
      found = index;
    }
  });
  return found;
}
