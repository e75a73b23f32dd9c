import { describe, expect, it } from 'vitest';
import { pdfWithPages, pdfWithText } from '../../../test/support/sample-documents.js';
import { UnextractableDocument } from './document-parsers.js';
import { parseInThread } from './extraction-thread.js';

// Enough pages that pdf.js parses for about a second: on the calling thread it would not yield once.
const longPdf = () => pdfWithPages(Array.from({ length: 300 }, (_, page) => Array.from({ length: 25 }, (_, line) => `page ${page} line ${line} zebra quarterly report`)));

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

describe('parseInThread', () => {
  it('parses a long PDF while the calling event loop keeps running', async () => {
    const { ticks, result } = await ticksDuring(() => parseInThread('pdf', longPdf(), { maxHeapMb: 512 }));
    expect(result).toContain('page 299 line 24 zebra quarterly report');
    expect(ticks).toBeGreaterThanOrEqual(10);
  });

  it('parses HTML on the thread too', async () => {
    expect(await parseInThread('html', Buffer.from('<p>Zebra <script>var x</script>report</p>'), { maxHeapMb: 512 })).toBe('Zebra report');
  });

  it('calls a document that needs more heap than allowed unextractable, and the process lives on', async () => {
    const pdf = pdfWithText('Quarterly zebra report');
    const refusal = await parseInThread('pdf', pdf, { maxHeapMb: 4 }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(UnextractableDocument);
    expect((refusal as Error).message).toBe('needs more than 4 MB of memory to parse');
    expect(await parseInThread('pdf', pdf, { maxHeapMb: 512 })).toContain('Quarterly zebra report');
  });

  it('ends the thread when the signal aborts, without waiting for the parser', async () => {
    const controller = new AbortController();
    const reason = new Error('job timed out');
    setTimeout(() => controller.abort(reason), 100);
    const { ticks, result } = await ticksDuring(() => parseInThread('pdf', longPdf(), { maxHeapMb: 512, signal: controller.signal }).catch((error: unknown) => error));
    expect(result).toBe(reason);
    // Rejected about when aborted, long before the ~100 ticks the whole parse takes.
    expect(ticks).toBeLessThan(60);
  });

  it('refuses at once with a signal already aborted', async () => {
    const reason = new Error('shutting down');
    await expect(parseInThread('pdf', pdfWithText('x'), { maxHeapMb: 512, signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });

  it('does not quote a corrupt document in its refusal', async () => {
    await expect(parseInThread('pdf', Buffer.from('%PDF-1.4\nsecret words in a broken file'), { maxHeapMb: 512 })).rejects.toThrow(/^not a readable PDF \(\w+\)$/);
  });
});
