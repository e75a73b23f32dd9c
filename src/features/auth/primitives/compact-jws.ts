/**
 * Whether `token` is a compact JWS whose three segments are each canonical base64url: only
 * the URL-safe alphabet, no `=` padding, no impossible length, and zero in the unused low
 * bits of the last character. Decoders (jose's among them) ignore padding and those bits, so
 * without this check one signature has many spellings that all verify: a token that is not
 * byte-for-byte the one that was signed must not pass for it (RFC 7515 §2, RFC 4648 §3.5).
 */
export function isCanonicalCompactJws(token: string): boolean {
  const segments = token.split('.');
  return segments.length === 3 && segments.every(isCanonicalBase64url);
}

const ALPHABET = /^[A-Za-z0-9_-]*$/;
// Values (0–63) of the characters that may end a segment, by how many bits of the last one are unused.
const LAST_WITH_4_UNUSED_BITS = /[AQgw]$/;
const LAST_WITH_2_UNUSED_BITS = /[AEIMQUYcgkosw048]$/;

export function isCanonicalBase64url(segment: string): boolean {
  if (!ALPHABET.test(segment)) return false;
  switch (segment.length % 4) {
    case 0:
      return true;
    case 1:
      return false; // six bits cannot end a byte
    case 2:
      return LAST_WITH_4_UNUSED_BITS.test(segment);
    default:
      return LAST_WITH_2_UNUSED_BITS.test(segment);
  }
}
