import { extensionOf } from './file-name.js';

/** Bytes read before deciding a type: what `file-type` needs for every format it knows. */
export const SNIFF_BYTES = 4100;

export interface SniffedType {
  /** What downloads are served as: the sniffed type, never the client's claim. */
  contentType: string;
  /** UTF-8 text: every later byte must also be valid UTF-8 without control characters. */
  text: boolean;
}

// Formats with magic numbers, recognised from the bytes alone.
const BINARY_TYPES: ReadonlySet<string> = new Set(['application/pdf', 'image/png', 'image/jpeg', 'image/gif', 'image/webp']);

// Text has no magic number: a file whose bytes are UTF-8 text is typed by its extension,
// and only these. Anything else (scripts, SVG, XML) is refused rather than guessed.
const TEXT_TYPES: Readonly<Record<string, string>> = {
  '': 'text/plain; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
  text: 'text/plain; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  markdown: 'text/markdown; charset=utf-8',
  html: 'text/html; charset=utf-8',
  htm: 'text/html; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  json: 'application/json; charset=utf-8',
};

export const ACCEPTED_TYPES_DESCRIPTION = 'PDF, PNG, JPEG, GIF, WebP, and UTF-8 text named .txt, .md, .html, .csv or .json';

/**
 * The type of an upload from its first bytes (`head`, up to SNIFF_BYTES) and, for text only,
 * its file name. Undefined: not on the allowlist (an executable renamed `.pdf`, a zip, binary
 * without a known signature, text with an extension outside the list).
 */
export async function sniffContentType(head: Buffer, fileName: string, complete: boolean): Promise<SniffedType | undefined> {
  // Loaded on the first upload rather than at start-up.
  const { fileTypeFromBuffer } = await import('file-type');
  const detected = await fileTypeFromBuffer(head);
  if (detected) return BINARY_TYPES.has(detected.mime) ? { contentType: detected.mime, text: false } : undefined;
  const textType = TEXT_TYPES[extensionOf(fileName)];
  if (textType === undefined) return undefined;
  const validator = createTextValidator();
  return validator.accepts(head) && (!complete || validator.end()) ? { contentType: textType, text: true } : undefined;
}

// Text keeps tab, line feed, vertical tab, form feed, carriage return and escape; any other C0
// control (NUL above all) means binary.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const BINARY_CONTROL = /[\u0000-\u0008\u000e-\u001a\u001c-\u001f]/;

export interface TextValidator {
  /** Whether the bytes so far are UTF-8 text; a sequence cut at the chunk's end waits for the next. */
  accepts(chunk: Buffer): boolean;
  /** Whether the text ended on a complete character. */
  end(): boolean;
}

/** Streaming check that bytes are UTF-8 text, chunk by chunk, without keeping them. */
export function createTextValidator(): TextValidator {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  return {
    accepts(chunk) {
      try {
        return !BINARY_CONTROL.test(decoder.decode(chunk, { stream: true }));
      } catch {
        return false;
      }
    },
    end() {
      try {
        decoder.decode();
        return true;
      } catch {
        return false;
      }
    },
  };
}
