import { Secret } from 'otpauth';
import { describe, expect, it } from 'vitest';
import { createTotpSecret, generateTotp, otpauthUri, qrSvg, totpStep, verifyTotp } from './totp.js';

// RFC 6238 Appendix B: the SHA-1 seed is the 20-byte ASCII string "12345678901234567890".
const RFC_SECRET = Secret.fromLatin1('12345678901234567890').base32;
const RFC_SHA1_VECTORS: Array<[seconds: number, code: string]> = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

// A fixed secret and clock keep the window tests deterministic: with a random secret, two
// steps' codes collide about once in a million runs.
const secret = RFC_SECRET;
const now = Date.UTC(2026, 10, 23, 8, 0, 10);
const codeAt = (ms: number) => generateTotp({ secret, now: ms });

describe('TOTP (RFC 6238)', () => {
  it.each(RFC_SHA1_VECTORS)('matches the RFC 6238 Appendix B SHA-1 vector at T=%i', (seconds, code) => {
    expect(RFC_SECRET).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    expect(generateTotp({ secret: RFC_SECRET, now: seconds * 1000, digits: 8 })).toBe(code);
  });

  it('creates 160-bit base32 secrets that differ every time', () => {
    const created = createTotpSecret();
    expect(created).toMatch(/^[A-Z2-7]{32}$/);
    expect(Secret.fromBase32(created).bytes.length).toBe(20);
    expect(createTotpSecret()).not.toBe(created);
  });

  it('accepts the current code and returns its step for the caller to store', () => {
    expect(verifyTotp({ secret, code: codeAt(now), now })).toEqual({ ok: true, step: totpStep(now) });
  });

  it('accepts a code from one step before or after, for phone clock drift', () => {
    expect(verifyTotp({ secret, code: codeAt(now - 30_000), now })).toEqual({ ok: true, step: totpStep(now) - 1 });
    expect(verifyTotp({ secret, code: codeAt(now + 30_000), now })).toEqual({ ok: true, step: totpStep(now) + 1 });
  });

  it('refuses a code from two steps away', () => {
    expect(verifyTotp({ secret, code: codeAt(now - 60_000), now })).toEqual({ ok: false });
    expect(verifyTotp({ secret, code: codeAt(now + 60_000), now })).toEqual({ ok: false });
  });

  it('refuses a replayed code once its step has been accepted', () => {
    const first = verifyTotp({ secret, code: codeAt(now), now });
    expect(first.ok).toBe(true);
    const lastAcceptedStep = first.ok ? first.step : null;
    expect(verifyTotp({ secret, code: codeAt(now), now: now + 5_000, lastAcceptedStep })).toEqual({ ok: false });
  });

  it('refuses an older code after a newer one was accepted', () => {
    const lastAcceptedStep = totpStep(now);
    expect(verifyTotp({ secret, code: codeAt(now - 30_000), now, lastAcceptedStep })).toEqual({ ok: false });
    expect(verifyTotp({ secret, code: codeAt(now + 30_000), now, lastAcceptedStep })).toEqual({
      ok: true,
      step: lastAcceptedStep + 1,
    });
  });

  it('accepts a code typed with the space authenticator apps display', () => {
    const code = codeAt(now);
    expect(verifyTotp({ secret, code: `${code.slice(0, 3)} ${code.slice(3)}`, now }).ok).toBe(true);
  });

  it.each(['12345', 'abcdef', '1234567', '', '12345a', '１２３４５６', "' OR 1=1 --", '1'.repeat(10_000)])(
    'refuses the malformed code %j without throwing',
    (code) => {
      expect(verifyTotp({ secret, code, now })).toEqual({ ok: false });
    },
  );

  it.each([null, undefined, 123456, {}, ['123456']])('refuses the non-string code %j without throwing', (code) => {
    expect(verifyTotp({ secret, code, now })).toEqual({ ok: false });
  });

  it('builds an otpauth URI with the issuer, account and RFC parameters', () => {
    const uri = new URL(otpauthUri({ secret, account: 'ada@example.com', issuer: 'Rampart' }));
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe('/Rampart:ada@example.com');
    expect(Object.fromEntries(uri.searchParams)).toEqual({
      issuer: 'Rampart',
      secret,
      algorithm: 'SHA1',
      digits: '6',
      period: '30',
    });
  });

  it('renders the URI as an SVG QR code', async () => {
    const svg = await qrSvg(otpauthUri({ secret, account: 'ada@example.com', issuer: 'Rampart' }));
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('</svg>');
  });
});
