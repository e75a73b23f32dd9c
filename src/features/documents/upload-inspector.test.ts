import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HttpProblem } from '../../platform/http/problem.js';
import { pdfWithText, windowsExecutable } from '../../../test/support/sample-documents.js';
import { createUploadInspector } from './upload-inspector.js';

/** Streams `bytes` in `chunkSize` pieces through an inspector; what came out, or the error. */
async function inspect(bytes: Buffer, fileName: string, maxBytes = 1024 * 1024, chunkSize = 1000) {
  const inspector = createUploadInspector({ maxBytes, fileName });
  const chunks: Buffer[] = [];
  const source = Readable.from((function* () {
    for (let i = 0; i < bytes.length; i += chunkSize) yield bytes.subarray(i, i + chunkSize);
  })());
  try {
    await pipeline(source, inspector.stream, async function (input) {
      for await (const chunk of input) chunks.push(chunk as Buffer);
    });
    return { out: Buffer.concat(chunks), result: inspector.result() };
  } catch (error) {
    return { error: error as HttpProblem, passed: Buffer.concat(chunks).length, refusal: inspector.refusal() };
  }
}

describe('upload inspector', () => {
  it('passes every byte through unchanged and reports size, SHA-256 and type', async () => {
    const pdf = Buffer.concat([pdfWithText('hello'), Buffer.alloc(20_000, 0x20)]);
    const run = await inspect(pdf, 'x.pdf');
    expect(run.out?.equals(pdf)).toBe(true);
    expect(run.result).toEqual({ sizeBytes: pdf.length, sha256: createHash('sha256').update(pdf).digest('hex'), type: { contentType: 'application/pdf', text: false } });
  });

  it('lets nothing through from a refused type: the first bytes are held until the type is known', async () => {
    const run = await inspect(windowsExecutable(50_000), 'invoice.pdf');
    expect(run.error?.status).toBe(415);
    expect(run.passed).toBe(0);
    expect(run.refusal?.slug).toBe('unsupported-document-type');
  });

  it('fails with 413 the moment the limit is crossed', async () => {
    const run = await inspect(Buffer.alloc(5_000, 0x61), 'a.txt', 4_096);
    expect(run.error?.status).toBe(413);
    expect(run.refusal?.slug).toBe('upload-too-large');
  });

  it('accepts a file of exactly the limit', async () => {
    const run = await inspect(Buffer.alloc(4_096, 0x61), 'a.txt', 4_096);
    expect(run.result?.sizeBytes).toBe(4_096);
  });

  it('refuses text whose bytes turn binary after the first 4 KiB', async () => {
    const bytes = Buffer.concat([Buffer.alloc(10_000, 0x61), Buffer.from([0]), Buffer.alloc(100, 0x61)]);
    const run = await inspect(bytes, 'a.txt');
    expect(run.error?.status).toBe(415);
  });

  it('types a small text file at its end', async () => {
    const run = await inspect(Buffer.from('# Title\n'), 'notes.md');
    expect(run.result?.type.contentType).toBe('text/markdown; charset=utf-8');
  });

  it('refuses an empty file (400)', async () => {
    const run = await inspect(Buffer.alloc(0), 'a.txt');
    expect(run.error?.status).toBe(400);
  });
});
