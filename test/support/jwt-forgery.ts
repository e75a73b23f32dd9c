import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT, exportJWK, type JWTPayload } from 'jose';

export interface GenuineKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Tokens an attacker could build, each of which a verifier must refuse. `claims` are the
 * claims of a genuine token (sub, tid, role, sid, iss, aud…); `key` is the real signing key,
 * used where the attack is in the claims rather than the signature.
 */
export async function forgedTokens(key: GenuineKey, claims: JWTPayload & { iss: string; aud: string }, genuineToken: string): Promise<Array<[string, string]>> {
  const now = Math.floor(Date.now() / 1000);
  const valid = { ...claims, iat: now, exp: now + 600 };
  const signWith = (payload: JWTPayload, header: Record<string, unknown> = {}, signer: KeyObject = key.privateKey) =>
    new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'JWT', ...header }).sign(signer);
  const attacker = generateKeyPairSync('ed25519');
  const attackerJwk = await exportJWK(attacker.publicKey);
  const publicPem = key.publicKey.export({ format: 'pem', type: 'spki' }) as string;
  const publicRaw = Buffer.from((key.publicKey.export({ format: 'jwk' }) as { x: string }).x, 'base64url');
  const [genuineHeader, genuinePayload, genuineSignature] = genuineToken.split('.') as [string, string, string];
  const tamperedPayload = { ...(JSON.parse(Buffer.from(genuinePayload, 'base64url').toString()) as JWTPayload), role: 'admin', sub: '00000000-0000-4000-8000-000000000000' };

  const tokens: Array<[string, string]> = [];
  for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
    tokens.push([`alg ${alg}`, `${b64({ alg, typ: 'JWT', kid: key.kid })}.${b64(valid)}.`]);
  }
  tokens.push(['HS256 signed with the public key (PEM)', await new SignJWT(valid).setProtectedHeader({ alg: 'HS256', kid: key.kid }).sign(Buffer.from(publicPem))]);
  tokens.push(['HS256 signed with the public key (raw bytes)', await new SignJWT(valid).setProtectedHeader({ alg: 'HS256', kid: key.kid }).sign(publicRaw)]);
  tokens.push(['unknown kid (another key)', await signWith(valid, { kid: 'A'.repeat(43) }, attacker.privateKey)]);
  tokens.push(['kid with a path', await signWith(valid, { kid: '../../../../etc/passwd' })]);
  tokens.push(['kid with SQL', await signWith(valid, { kid: "' OR 1=1; DROP TABLE signing_keys; --" })]);
  tokens.push(['embedded jwk header', await signWith(valid, { jwk: attackerJwk }, attacker.privateKey)]);
  tokens.push(['embedded jwk header (real kid)', await signWith(valid, { jwk: { ...attackerJwk, kid: key.kid } }, attacker.privateKey)]);
  tokens.push(['jku header', await signWith(valid, { jku: 'https://attacker.example/jwks.json' }, attacker.privateKey)]);
  tokens.push(['expired', await signWith({ ...valid, iat: now - 1000, exp: now - 120 })]);
  tokens.push(['wrong aud', await signWith({ ...valid, aud: 'another-api' })]);
  tokens.push(['wrong iss', await signWith({ ...valid, iss: 'https://attacker.example' })]);
  tokens.push(['typ refresh', await signWith({ ...valid, typ: 'refresh' })]);
  tokens.push(['typ id', await signWith({ ...valid, typ: 'id' })]);
  tokens.push(['no typ', await signWith({ ...valid, typ: undefined })]);
  tokens.push(['tampered payload', `${genuineHeader}.${b64(tamperedPayload)}.${genuineSignature}`]);
  tokens.push(['signature stripped', `${genuineHeader}.${genuinePayload}.`]);
  tokens.push(['not a JWT', 'definitely-not-a-jwt']);
  return tokens;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Other spellings of a genuine token that lenient decoders read as the same bytes, so the
 * signature still checks out: `=` or `==` appended to a segment, or a last character whose
 * unused low bits are set. Each must be refused (the token is not the one that was signed).
 */
export function respelledTokens(genuineToken: string): Array<[string, string]> {
  const segments = genuineToken.split('.');
  const names = ['header', 'payload', 'signature'];
  const tokens: Array<[string, string]> = [];
  const withSegment = (index: number, segment: string) => segments.map((s, i) => (i === index ? segment : s)).join('.');
  segments.forEach((segment, index) => {
    tokens.push([`${names[index]} + "="`, withSegment(index, `${segment}=`)]);
    tokens.push([`${names[index]} + "=="`, withSegment(index, `${segment}==`)]);
    const unusedBits = [0, 0, 4, 2][segment.length % 4]!;
    const last = ALPHABET.indexOf(segment.at(-1)!);
    for (let low = 1; low < 2 ** unusedBits; low++) {
      const twin = `${segment.slice(0, -1)}${ALPHABET[last | low]}`;
      if (Buffer.from(twin, 'base64url').equals(Buffer.from(segment, 'base64url'))) tokens.push([`${names[index]} with unused bits ${low}`, withSegment(index, twin)]);
    }
  });
  return tokens;
}
