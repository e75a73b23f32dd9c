/** Text is indexed up to this many bytes of UTF-8: PostgreSQL refuses a tsvector over 1 MB, and headlines re-read the text. */
export const MAX_INDEXED_BYTES = 256 * 1024;

// NUL cannot be stored in a PostgreSQL text; other controls only confuse snippets.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;

/** Controls out, runs of blank space collapsed, capped at MAX_INDEXED_BYTES on a character boundary. */
export function normaliseText(text: string): string {
  const cleaned = text.replace(CONTROL, ' ').replace(/[ \t\u00a0]+/g, ' ').replace(/\s*\n\s*/g, '\n').trim();
  if (Buffer.byteLength(cleaned) <= MAX_INDEXED_BYTES) return cleaned;
  // Cut the bytes, then drop a character the cut split in two.
  return Buffer.from(cleaned).subarray(0, MAX_INDEXED_BYTES).toString('utf8').replace(/\uFFFD$/, '');
}
