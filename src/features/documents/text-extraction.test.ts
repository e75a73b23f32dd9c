import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pdfWithText } from '../../../test/support/sample-documents.js';
import { extractText, isExtractable, MAX_INDEXED_BYTES, normaliseText, UnextractableDocument } from './text-extraction.js';

const extract = (contentType: string, body: string | Buffer) => {
  const bytes = Buffer.from(body);
  return extractText(contentType, Readable.from([bytes]), bytes.length, { maxHeapMb: 512 });
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
});

describe('normaliseText', () => {
  it('removes NUL and control characters PostgreSQL or snippets cannot take', () => {
    expect(normaliseText('a\u0000b\u0007c')).toBe('a b c');
  });

  it('caps the text on a character boundary', () => {
    const capped = normaliseText('é'.repeat(MAX_INDEXED_BYTES));
    expect(Buffer.byteLength(capped)).toBeLessThanOrEqual(MAX_INDEXED_BYTES);
    expect(capped).not.toContain('\uFFFD');
  });
});
