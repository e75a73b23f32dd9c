import type { Readable } from 'node:stream';
import { UnextractableDocument, type ParsedFormat } from './document-parsers.js';
import { abortReason, concurrencyGate } from '../../platform/concurrency/concurrency-gate.js';
import { parseInProcess, type ExtractionLimits } from './extraction-process.js';
import { normaliseText } from './indexed-text.js';

export { UnextractableDocument };
export type { ExtractionLimits };

/** A PDF is parsed whole, in memory; larger ones are not indexed (their name still is). */
export const MAX_PDF_BYTES = 64 * 1024 * 1024;
// Text formats are indexed from their start: this much is read at most.
const MAX_TEXT_READ_BYTES = 4 * 1024 * 1024;

/** Whether documents of this (stored) type get a text-extraction job. */
export function isExtractable(contentType: string): boolean {
  return baseType(contentType) in PLAIN_TEXT || baseType(contentType) in PARSED;
}

export interface TextExtractorOptions extends ExtractionLimits {
  /** DOCUMENTS_EXTRACT_CONCURRENCY: extraction processes running at once; more documents wait their turn. */
  concurrency: number;
}

export interface TextExtractor {
  /**
   * The searchable text of a stored document. `open` is called once it is the document's turn;
   * the stream it gives is consumed or destroyed. PDF and HTML are parsed in a process of their
   * own (see extraction-process.ts); `signal` ends the wait, the reading and the process.
   */
  extract(contentType: string, open: () => Promise<Readable>, sizeBytes: number, signal?: AbortSignal): Promise<string>;
}

const PLAIN_TEXT: Readonly<Record<string, true>> = {
  'text/plain': true,
  // Markdown's punctuation is ignored by the text-search parser; the words are what count.
  'text/markdown': true,
  'text/csv': true,
  'application/json': true,
};

const PARSED: Readonly<Record<string, { format: ParsedFormat; maxReadBytes: number }>> = {
  'text/html': { format: 'html', maxReadBytes: MAX_TEXT_READ_BYTES },
  'application/pdf': { format: 'pdf', maxReadBytes: MAX_PDF_BYTES },
};

export function createTextExtractor(options: TextExtractorOptions): TextExtractor {
  const slots = concurrencyGate(options.concurrency);
  return {
    async extract(contentType, open, sizeBytes, signal) {
      const type = baseType(contentType);
      if (type in PLAIN_TEXT) return normaliseText((await readUpTo(await open(), MAX_TEXT_READ_BYTES, signal)).toString('utf8'));
      const parsed = PARSED[type];
      if (!parsed) throw new UnextractableDocument(`no text extraction for ${type}`);
      if (parsed.format === 'pdf' && sizeBytes > MAX_PDF_BYTES) throw new UnextractableDocument(`PDF larger than ${MAX_PDF_BYTES} bytes is not indexed`);
      return slots(async () => parseInProcess(parsed.format, await open(), parsed.maxReadBytes, options, signal), signal);
    },
  };
}

/** Reads at most `limit` bytes, then stops reading (and releases the source). */
async function readUpTo(content: Readable, limit: number, signal?: AbortSignal): Promise<Buffer> {
  const onAbort = () => content.destroy(abortReason(signal!));
  signal?.addEventListener('abort', onAbort, { once: true });
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of content) {
      const buffer = chunk as Buffer;
      chunks.push(total + buffer.length > limit ? buffer.subarray(0, limit - total) : buffer);
      total += buffer.length;
      if (total >= limit) break;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    content.destroy();
  }
  return Buffer.concat(chunks);
}

function baseType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}
