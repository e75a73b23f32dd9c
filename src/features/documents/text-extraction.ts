import type { Readable } from 'node:stream';

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

/** A document that cannot be indexed however often it is retried (corrupt PDF, too large). */
export class UnextractableDocument extends Error {
  override name = 'UnextractableDocument';
}

/** The searchable text of a stored document, read from `content` (which is consumed or destroyed). */
export async function extractText(contentType: string, content: Readable, sizeBytes: number): Promise<string> {
  const extractor = EXTRACTORS[baseType(contentType)];
  if (!extractor) throw new UnextractableDocument(`no text extraction for ${baseType(contentType)}`);
  return normaliseText(await extractor(content, sizeBytes));
}

type Extractor = (content: Readable, sizeBytes: number) => Promise<string>;

const plainText: Extractor = async (content) => (await readUpTo(content, MAX_TEXT_READ_BYTES)).toString('utf8');

const EXTRACTORS: Readonly<Record<string, Extractor>> = {
  'text/plain': plainText,
  // Markdown's punctuation is ignored by the text-search parser; the words are what count.
  'text/markdown': plainText,
  'text/csv': plainText,
  'application/json': plainText,
  'text/html': async (content) => htmlToText((await readUpTo(content, MAX_TEXT_READ_BYTES)).toString('utf8')),
  'application/pdf': async (content, sizeBytes) => {
    if (sizeBytes > MAX_PDF_BYTES) {
      content.destroy();
      throw new UnextractableDocument(`PDF larger than ${MAX_PDF_BYTES} bytes is not indexed`);
    }
    return pdfToText(await readUpTo(content, MAX_PDF_BYTES));
  },
};

/** Visible text of an HTML page: scripts, styles, link targets and images dropped. */
export async function htmlToText(html: string): Promise<string> {
  // Loaded on first use, like unpdf: start-up does not pay for what only the worker needs.
  const { convert } = await import('html-to-text');
  return convert(html, {
    wordwrap: false,
    selectors: [
      { selector: 'a', options: { ignoreHref: true } },
      { selector: 'img', format: 'skip' },
      { selector: 'script', format: 'skip' },
      { selector: 'style', format: 'skip' },
      { selector: 'noscript', format: 'skip' },
      { selector: 'h1', options: { uppercase: false } },
      { selector: 'h2', options: { uppercase: false } },
      { selector: 'h3', options: { uppercase: false } },
      { selector: 'h4', options: { uppercase: false } },
      { selector: 'h5', options: { uppercase: false } },
      { selector: 'h6', options: { uppercase: false } },
      { selector: 'table', format: 'dataTable', options: { uppercaseHeaderCells: false } },
    ],
  });
}

/** The text of every page. unpdf bundles a serverless pdf.js: no canvas, no worker thread, Node 20. */
export async function pdfToText(bytes: Buffer): Promise<string> {
  // Loaded on first use: the web process that never extracts does not pay for pdf.js.
  const { extractText: extractPdfText, getDocumentProxy } = await import('unpdf');
  let pdf;
  try {
    pdf = await getDocumentProxy(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), { isEvalSupported: false, verbosity: 0 });
  } catch (error) {
    throw new UnextractableDocument(`not a readable PDF (${(error as Error).name})`);
  }
  try {
    const { text } = await extractPdfText(pdf, { mergePages: true });
    return text;
  } finally {
    await pdf.destroy();
  }
}

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
