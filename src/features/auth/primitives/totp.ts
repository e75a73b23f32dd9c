import { timingSafeEqual } from 'node:crypto';
import { HOTP, Secret, TOTP } from 'otpauth';
import { lazyRequire } from '../../../platform/lazy-require.js';
import type * as QRCodeModule from 'qrcode';

// Loaded for the first enrolment, not at every start.
const loadQRCode = lazyRequire<typeof QRCodeModule>('qrcode');

// RFC 6238 with the parameters every authenticator app supports: apps silently ignore
// SHA-256, 8 digits or other periods and then show codes that never match.
const ALGORITHM = 'SHA1';
const DIGITS = 6;
const PERIOD_SECONDS = 30;
// One step either side absorbs clock drift between phone and server (RFC 6238 §5.2).
const WINDOW_STEPS = 1;
// 160 bits: the HMAC-SHA-1 block the RFC recommends as the minimum key length (RFC 4226 §4).
const SECRET_BYTES = 20;

export type TotpVerification = { ok: true; step: number } | { ok: false };

/** A fresh random TOTP secret, base32 without padding (32 characters). */
export function createTotpSecret(): string {
  return new Secret({ size: SECRET_BYTES }).base32;
}

/** The `otpauth://totp/…` URI an authenticator app imports (shown as a QR code). */
export function otpauthUri(input: { secret: string; account: string; issuer: string }): string {
  return new TOTP({
    issuer: input.issuer,
    label: input.account,
    secret: Secret.fromBase32(input.secret),
    algorithm: ALGORITHM,
    digits: DIGITS,
    period: PERIOD_SECONDS,
  }).toString();
}

/** The URI as an SVG QR code; SVG so the console can inline it without an image endpoint. */
export function qrSvg(uri: string): Promise<string> {
  return loadQRCode().toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}

/** The time step (30 s since the Unix epoch) that `now` (milliseconds) falls in. */
export function totpStep(now: number): number {
  return Math.floor(now / 1000 / PERIOD_SECONDS);
}

/**
 * The code for the step containing `now`. `digits` exists so the tests can check the
 * RFC 6238 Appendix B vectors (8 digits) through exactly this configuration.
 */
export function generateTotp(input: { secret: string; now: number; digits?: number }): string {
  return HOTP.generate({
    secret: Secret.fromBase32(input.secret),
    algorithm: ALGORITHM,
    digits: input.digits ?? DIGITS,
    counter: totpStep(input.now),
  });
}

/**
 * Checks a code against the current step and one step either side. A step at or below
 * `lastAcceptedStep` is refused, so a code (or an older one) is accepted once only: the
 * caller must store the returned `step` atomically with the sign-in it grants.
 * Malformed codes are refused, never thrown on; a malformed secret is a server fault and throws.
 */
export function verifyTotp(input: {
  secret: string;
  code: unknown;
  now?: number;
  lastAcceptedStep?: number | null;
}): TotpVerification {
  const code = normaliseCode(input.code);
  if (code === null) return { ok: false };
  const secret = Secret.fromBase32(input.secret);
  const current = totpStep(input.now ?? Date.now());
  const floor = input.lastAcceptedStep ?? -1;
  let accepted: number | null = null;
  // Every candidate is computed and compared, so timing does not reveal which step matched.
  for (let step = current - WINDOW_STEPS; step <= current + WINDOW_STEPS; step++) {
    const expected = HOTP.generate({ secret, algorithm: ALGORITHM, digits: DIGITS, counter: step });
    const matches = timingSafeEqual(Buffer.from(expected), Buffer.from(code));
    if (matches && step > floor && accepted === null) accepted = step;
  }
  return accepted === null ? { ok: false } : { ok: true, step: accepted };
}

// Apps display "123 456"; users paste it with the space. Anything else is not a code.
function normaliseCode(code: unknown): string | null {
  if (typeof code !== 'string' || code.length > 16) return null;
  const digits = code.replace(/\s/g, '');
  return /^\d{6}$/.test(digits) ? digits : null;
}
