import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { childProcessesMatching } from '../../../test/support/child-processes.js';
import { pdfWithText } from '../../../test/support/sample-documents.js';
import { createTextExtractor, isExtractable, UnextractableDocument } from './text-extraction.js';

const extractor = createTextExtractor({ maxMemoryMb: 512, maxDecompressedMb: 256, maxPages: 2_000, concurrency: 2 });
const extractionProcesses = () => childProcessesMatching(process.pid, 'extraction-process-main');

/** Settles with the count of extraction processes at the very moment `work` settled. */
const processesWhenSettled = (work: Promise<unknown>) => work.then(extractionProcesses, extractionProcesses);

const extract = (contentType: string, body: string | Buffer, signal?: AbortSignal) => {
  const bytes = Buffer.from(body);
  return extractor.extract(contentType, async () => Readable.from([bytes]), bytes.length, signal);
};

describe('extractText', () => {
  it('reads plain text, Markdown, CSV and JSON as they are', async () => {
    expect(await extract('text/plain; charset=utf-8', 'Quarterly   zebra\n\n\nreport')).toBe('Quarterly zebra\nreport');
    expect(await extract('text/markdown; charset=utf-8', '# Zebra *migration*\n- item')).toBe('# Zebra *migration*\n- item');
    expect(await extract('text/csv; charset=utf-8', 'animal,count\nzebra,3')).toContain('zebra,3');
    expect(await extract('application/json; charset=utf-8', '{"animal":"zebra"}')).toContain('zebra');
  });

  it('keeps the visible text of HTML and drops scripts, styles and link targets', async () => {
    const text = await extract('text/html; charset=utf-8', '<html><head><style>p{color:red}</style><script>var secretToken = 1</script></head><body><h1>Zebra report</h1><p>Stripes <a href="https://evil.example/x">here</a></p><script>alert("x")</script></body></html>');
    expect(text).toContain('Zebra report');
    expect(text).toContain('Stripes here');
    expect(text).not.toMatch(/secretToken|alert|color|evil\.example/);
  });

  it('reads the text of a PDF', async () => {
    expect(await extract('application/pdf', pdfWithText('Quarterly zebra report'))).toBe('Quarterly zebra report');
  });

  it('calls a corrupt PDF unextractable (no retry will help)', async () => {
    await expect(extract('application/pdf', Buffer.from('%PDF-1.4\nthis is not a pdf at all'))).rejects.toBeInstanceOf(UnextractableDocument);
  });

  it('extracts nothing from images', () => {
    expect(isExtractable('image/png')).toBe(false);
    expect(isExtractable('application/pdf')).toBe(true);
    expect(isExtractable('text/html; charset=utf-8')).toBe(true);
  });

  it('runs at most `concurrency` parses at once; one whose job is aborted while it waits leaves the line', async () => {
    const single = createTextExtractor({ maxMemoryMb: 512, maxDecompressedMb: 256, maxPages: 2_000, concurrency: 1 });
    const opened: string[] = [];
    const open = (name: string) => async () => {
      opened.push(name);
      return Readable.from([pdfWithText(`${name} report`)]);
    };
    const controller = new AbortController();
    const first = single.extract('application/pdf', open('first'), 1_000);
    const waiting = single.extract('application/pdf', open('waiting'), 1_000, controller.signal);
    const third = single.extract('application/pdf', open('third'), 1_000);
    // Only the first has its turn; the others have not even opened their document.
    expect(opened).toEqual(['first']);
    const reason = new Error('job timed out');
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    expect(await first).toBe('first report');
    expect(await third).toBe('third report');
    expect(opened).toEqual(['first', 'third']);
  });

  // The slot covers the process's whole life: were it freed when the answer came, the next
  // parse would start beside a process still exiting (CI once saw 3 with a limit of 2).
  it.skipIf(process.platform !== 'linux')('settles only once its process is gone, whether it answered, failed or was aborted', async () => {
    expect(await processesWhenSettled(extract('application/pdf', pdfWithText('Quarterly zebra report')))).toBe(0);
    expect(await processesWhenSettled(extract('application/pdf', Buffer.from('%PDF-1.4\nnot a pdf')))).toBe(0);
    const controller = new AbortController();
    // A stream that never ends: the process waits for the rest of its document until aborted.
    const parsing = extractor.extract('application/pdf', async () => new Readable({ read() {} }), 1_000, controller.signal);
    await expect.poll(extractionProcesses).toBe(1);
    const reason = new Error('job timed out');
    const left = processesWhenSettled(parsing);
    controller.abort(reason);
    expect(await left).toBe(0);
    await expect(parsing).rejects.toBe(reason);
  });
});
