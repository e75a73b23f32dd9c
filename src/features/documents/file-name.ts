// A stored name is for display and for Content-Disposition; it never becomes a path (objects are
// stored under generated keys). Still, it is cleaned so no page, header or log can be fooled by it.

const MAX_NAME_BYTES = 200;
const FALLBACK_NAME = 'document';

// C0/C1 controls, and the Unicode format characters that reorder or hide text
// (`invoice\u202Efdp.exe` displays as `invoiceexe.pdf`).
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]/g;
// Reserved on Windows or special in shells and headers; replaced so a downloaded copy saves anywhere.
const RESERVED = /[<>:"|?*]/g;

/**
 * The user's file name made safe: the last path segment only (either slash), NFC, no control
 * or bidi characters, no reserved punctuation, no leading dots or spaces, at most 200 bytes of
 * UTF-8 (the extension kept). Nothing usable left → `document`.
 */
export function sanitiseFileName(raw: string | undefined): string {
  const segments = (raw ?? '').normalize('NFC').replace(INVISIBLE, '').split(/[\\/]/);
  let name = (segments.at(-1) ?? '').replace(RESERVED, '_').replace(/\s+/g, ' ').trim();
  name = name.replace(/^[.\s]+/, '').replace(/[.\s]+$/, '');
  if (name === '') return FALLBACK_NAME;
  return capBytes(name, MAX_NAME_BYTES);
}

/** Shortens the stem (never the extension, when it is short) until the name fits. */
function capBytes(name: string, maxBytes: number): string {
  if (Buffer.byteLength(name) <= maxBytes) return name;
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
  let stem = [...name.slice(0, name.length - extension.length)];
  while (stem.length > 0 && Buffer.byteLength(stem.join('') + extension) > maxBytes) stem = stem.slice(0, -1);
  const capped = (stem.join('').trimEnd() + extension).replace(/^[.\s]+/, '');
  return capped === '' ? FALLBACK_NAME : capped;
}

/** The lower-cased extension without its dot (`report.PDF` → `pdf`), or '' when there is none. */
export function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}

/**
 * `Content-Disposition: attachment` with an ASCII fallback name and the exact name in
 * RFC 8187 `filename*` (browsers prefer the latter).
 */
export function attachmentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\%]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
