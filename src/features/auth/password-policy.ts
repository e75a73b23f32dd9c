import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../package-info.js';

// OWASP ASVS 5.0 V6.2: at least 12 characters, at least 64 (we take 128) accepted, no
// composition rules, checked against breached passwords. The cap only bounds hashing work.
export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 1024;

export type PasswordRule = 'min-length' | 'max-length' | 'common-password';

export interface PasswordVerdict {
  ok: boolean;
  /** The normalised password to hash (only meaningful when ok). */
  normalised: string;
  rule?: PasswordRule;
  message?: string;
}

/** NFKC, so the same password typed on two keyboards (composed or not, full-width or not) is one password. */
export function normalisePassword(password: string): string {
  return password.normalize('NFKC');
}

let commonPasswords: ReadonlySet<string> | undefined;

function common(): ReadonlySet<string> {
  // Lazily read: a process that never checks a password never pays for the list.
  commonPasswords ??= new Set(
    readFileSync(join(packageRoot, 'data', 'common-passwords.txt'), 'utf8').split('\n').map((line) => line.trim()).filter(Boolean),
  );
  return commonPasswords;
}

export function checkPassword(password: string): PasswordVerdict {
  const normalised = normalisePassword(password);
  // Code points, not UTF-16 units: an emoji counts as one character, as a user would count it.
  const length = [...normalised].length;
  if (length < MIN_PASSWORD_LENGTH) {
    return { ok: false, normalised, rule: 'min-length', message: `Password must be at least ${MIN_PASSWORD_LENGTH} characters long.` };
  }
  if (length > MAX_PASSWORD_LENGTH) {
    return { ok: false, normalised, rule: 'max-length', message: `Password must be at most ${MAX_PASSWORD_LENGTH} characters long.` };
  }
  if (common().has(normalised.toLowerCase())) {
    return { ok: false, normalised, rule: 'common-password', message: 'Password is in a list of commonly used, breached passwords; choose another.' };
  }
  return { ok: true, normalised };
}
