import { readdir, readFile } from 'node:fs/promises';
import { getPriority } from 'node:os';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pdfDecompressionBomb, pdfWithPages, pdfWithText } from '../../../test/support/sample-documents.js';
import { UnextractableDocument } from './document-parsers.js';
import { parseInProcess, type ExtractionLimits } from './extraction-process.js';
import { MAX_INDEXED_BYTES } from './indexed-text.js';

const LIMITS: ExtractionLimits = { maxMemoryMb: 512, maxDecompressedMb: 256, maxPages: 2_000 };
const MAX_READ = 64 * 1024 * 1024;

// Enough pages that pdf.js parses for about a second: on the calling thread it would not yield once.
const longPdf = () => pdfWithPages(Array.from({ length: 300 }, (_, page) => Array.from({ length: 25 }, (_, line) => `page ${page} line ${line} zebra quarterly report`)));
const parse = (format: 'pdf' | 'html', bytes: Buffer, limits: Partial<ExtractionLimits> = {}, signal?: AbortSignal) => parseInProcess(format, Readable.from([bytes]), MAX_READ, { ...LIMITS, ...limits }, signal);

/** Counts 10 ms timer ticks while `work` runs: a blocked event loop counts none. */
async function ticksDuring<T>(work: () => Promise<T>): Promise<{ ticks: number; result: T }> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  try {
    const result = await work();
    return { ticks, result };
  } finally {
    clearInterval(timer);
  }
}

describe('parseInProcess', () => {
  it('parses a long PDF while the calling event loop keeps running', async () => {
    const { ticks, result } = await ticksDuring(() => parse('pdf', longPdf()));
    expect(result).toContain('page 200 line 24 zebra quarterly report');
    // Cut to what is indexed before it leaves the process.
    expect(Buffer.byteLength(result)).toBeLessThanOrEqual(MAX_INDEXED_BYTES);
    expect(ticks).toBeGreaterThanOrEqual(10);
  });

  it('runs the parse below the priority of the process that started it', async () => {
    const parsing = parse('pdf', longPdf());
    let niceness: number | undefined;
    while (niceness === undefined) {
      for (const task of await readdir(`/proc/${process.pid}/task`)) {
        for (const child of (await readFile(`/proc/${process.pid}/task/${task}/children`, 'latin1')).split(' ').filter(Boolean)) {
          if ((await readFile(`/proc/${child}/cmdline`, 'latin1').catch(() => '')).includes('extraction-process-main')) niceness = getPriority(Number(child));
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(niceness).toBe(Math.min(19, getPriority() + 10));
    await parsing;
  });

  it('parses HTML in the process too', async () => {
    expect(await parse('html', Buffer.from('<p>Zebra <script>var x</script>report</p>'))).toBe('Zebra report');
  });

  it('calls a PDF whose streams inflate past the limit unextractable, before parsing it', async () => {
    const bomb = await pdfDecompressionBomb(64 * 1024 * 1024);
    const refusal = await parse('pdf', bomb, { maxDecompressedMb: 32 }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(UnextractableDocument);
    expect((refusal as Error).message).toBe('its compressed streams inflate to more than 32 MB (DOCUMENTS_EXTRACT_MAX_DECOMPRESSED_MB)');
    // Under the limit, the same file is read.
    expect(await parse('pdf', bomb, { maxDecompressedMb: 65 })).toBe('Quarterly zebra report');
  }, 60_000);

  it('kills the process once its resident memory passes the budget, and calls the document unextractable', async () => {
    // With the decompression limit out of the way, pdf.js inflates the stream into memory outside its heap.
    const bomb = await pdfDecompressionBomb(1024 * 1024 * 1024);
    const refusal = await parse('pdf', bomb, { maxDecompressedMb: 4096, maxMemoryMb: 160 }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(UnextractableDocument);
    expect((refusal as Error).message).toBe('needs more than 160 MB of memory to parse (DOCUMENTS_EXTRACT_MAX_MEMORY_MB)');
    expect(await parse('pdf', pdfWithText('Quarterly zebra report'))).toBe('Quarterly zebra report');
  }, 120_000);

  it('calls a PDF with more pages than allowed unextractable', async () => {
    const pdf = pdfWithPages([['one'], ['two'], ['three']]);
    await expect(parse('pdf', pdf, { maxPages: 2 })).rejects.toThrow('it has 3 pages, more than 2 (DOCUMENTS_EXTRACT_MAX_PAGES)');
    expect(await parse('pdf', pdf, { maxPages: 3 })).toContain('three');
  });

  it('ends the process when the signal aborts, without waiting for the parser', async () => {
    const controller = new AbortController();
    const reason = new Error('job timed out');
    setTimeout(() => controller.abort(reason), 100);
    const { ticks, result } = await ticksDuring(() => parse('pdf', longPdf(), {}, controller.signal).catch((error: unknown) => error));
    expect(result).toBe(reason);
    // Rejected about when aborted, long before the ~100 ticks the whole parse takes.
    expect(ticks).toBeLessThan(60);
  });

  it('refuses at once with a signal already aborted', async () => {
    const reason = new Error('shutting down');
    await expect(parse('pdf', pdfWithText('x'), {}, AbortSignal.abort(reason))).rejects.toBe(reason);
  });

  it('does not quote a corrupt document in its refusal', async () => {
    await expect(parse('pdf', Buffer.from('%PDF-1.4\nsecret words in a broken file'))).rejects.toThrow(/^not a readable PDF \(\w+\)$/);
  });
});
