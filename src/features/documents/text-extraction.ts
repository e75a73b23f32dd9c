import type { Readable } from 'node:stream';
import { UnextractableDocument } from './document-parsers.js';
import { parseInThread, type ThreadLimits } from './extraction-thread.js';

export { UnextractableDocument };

/** Text is indexed up to this many bytes of UTF-8: PostgreSQL refuses a tsvector over 1 MB, and headlines re-read the text. */
export const MAX_INDEXED_BYTES = 256 * 1024;
/** A PDF is parsed whole, in memory; larger ones are not indexed (their name still is). */
export const MAX_PDF_BYTES = 64 * 1024 * 1024;
// Text formats are indexed from their start: this much is read at most.
const MAX_TEXT_READ_BYTES = 4 * 1024 * 1024;

/** Whether documents of this (stored) type get a text-extraction job. */
export function isExtractable(contentType: string): boolean {
  return EXTRACTORS[baseType(contentType)] !== undefined;
}

/**
 * The searchable text of a stored document, read from `content` (which is consumed or destroyed).
 * PDF and HTML are parsed on a thread of their own, within `limits`.
 */
export async function extractText(contentType: string, content: Readable, sizeBytes: number, limits: ThreadLimits): Promise<string> {
  const extractor = EXTRACTORS[baseType(contentType)];
  if (!extractor) throw new UnextractableDocument(`no text extraction for ${baseType(contentType)}`);
  return normaliseText(await extractor(content, sizeBytes, limits));
}

type Extractor = (content: Readable, sizeBytes: number, limits: ThreadLimits) => Promise<string>;

const plainText: Extractor = async (content) => (await readUpTo(content, MAX_TEXT_READ_BYTES)).toString('utf8');

const EXTRACTORS: Readonly<Record<string, Extractor>> = {
  'text/plain': plainText,
  // Markdown's punctuation is ignored by the text-search parser; the words are what count.
  'text/markdown': plainText,
  'text/csv': plainText,
  'application/json': plainText,
  'text/html': async (content, _size, limits) => parseInThread('html', await readUpTo(content, MAX_TEXT_READ_BYTES), limits),
  'application/pdf': async (content, sizeBytes, limits) => {
    if (sizeBytes > MAX_PDF_BYTES) {
      content.destroy();
      throw new UnextractableDocument(`PDF larger than ${MAX_PDF_BYTES} bytes is not indexed`);
    }
    return parseInThread('pdf', await readUpTo(content, MAX_PDF_BYTES), limits);
  },
};

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

/** Reads at most `limit` bytes, then stops reading (and releases the source). */
async function readUpTo(content: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of content) {
    const buffer = chunk as Buffer;
    chunks.push(total + buffer.length > limit ? buffer.subarray(0, limit - total) : buffer);
    total += buffer.length;
    if (total >= limit) break;
  }
  content.destroy();
  return Buffer.concat(chunks);
}

function baseType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}
