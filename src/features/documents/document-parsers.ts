import { inflatesWithin } from './pdf-inflation.js';

/** A document that cannot be indexed however often it is retried (corrupt PDF, too large). */
export class UnextractableDocument extends Error {
  override name = 'UnextractableDocument';
}

/** The formats whose parsing is heavy enough to run in a process of its own (see extraction-process.ts). */
export type ParsedFormat = 'pdf' | 'html';

export interface PdfLimits {
  /** What the PDF's FlateDecode streams may inflate to, all together (DOCUMENTS_EXTRACT_MAX_DECOMPRESSED_MB). */
  maxInflatedBytes: number;
  /** DOCUMENTS_EXTRACT_MAX_PAGES. */
  maxPages: number;
}

export function parseDocument(format: ParsedFormat, bytes: Uint8Array, limits: PdfLimits): Promise<string> {
  return format === 'pdf' ? pdfToText(bytes, limits) : htmlToText(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8'));
}

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

/** The text of every page. unpdf bundles a serverless pdf.js: no canvas, no worker thread of its own, Node 20. */
export async function pdfToText(bytes: Uint8Array, limits: PdfLimits): Promise<string> {
  if (!(await inflatesWithin(bytes, limits.maxInflatedBytes))) {
    throw new UnextractableDocument(`its compressed streams inflate to more than ${megabytes(limits.maxInflatedBytes)} MB (DOCUMENTS_EXTRACT_MAX_DECOMPRESSED_MB)`);
  }
  // Loaded on first use: only the extraction process pays for pdf.js.
  const { extractText: extractPdfText, getDocumentProxy } = await import('unpdf');
  let pdf;
  try {
    // A plain view: pdf.js refuses a Node Buffer.
    pdf = await getDocumentProxy(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), { isEvalSupported: false, verbosity: 0 });
  } catch (error) {
    throw new UnextractableDocument(`not a readable PDF (${(error as Error).name})`);
  }
  try {
    if (pdf.numPages > limits.maxPages) throw new UnextractableDocument(`it has ${pdf.numPages} pages, more than ${limits.maxPages} (DOCUMENTS_EXTRACT_MAX_PAGES)`);
    const { text } = await extractPdfText(pdf, { mergePages: true });
    return text;
  } finally {
    await pdf.destroy();
  }
}

const megabytes = (bytes: number) => Math.round(bytes / (1024 * 1024));
