import { describe, expect, it } from 'vitest';
import { createTextValidator, sniffContentType } from './content-sniffing.js';
import { elfExecutable, pdfWithText, PNG_1X1, windowsExecutable } from '../../../test/support/sample-documents.js';

const sniff = (bytes: Buffer, name: string) => sniffContentType(bytes, name, true);

describe('sniffContentType', () => {
  it('recognises PDF and images by their bytes, whatever they are called', async () => {
    expect(await sniff(pdfWithText('hello'), 'scan.pdf')).toEqual({ contentType: 'application/pdf', text: false });
    expect(await sniff(PNG_1X1, 'photo.pdf')).toEqual({ contentType: 'image/png', text: false });
  });

  it('refuses a Windows executable renamed .pdf, and an ELF binary named .txt', async () => {
    expect(await sniff(windowsExecutable(), 'invoice.pdf')).toBeUndefined();
    expect(await sniff(elfExecutable(), 'notes.txt')).toBeUndefined();
  });

  it('types UTF-8 text by its extension: text, Markdown, HTML, CSV, JSON', async () => {
    const text = Buffer.from('Grüße, world\n');
    expect((await sniff(text, 'a.txt'))?.contentType).toBe('text/plain; charset=utf-8');
    expect((await sniff(text, 'README'))?.contentType).toBe('text/plain; charset=utf-8');
    expect((await sniff(text, 'a.md'))?.contentType).toBe('text/markdown; charset=utf-8');
    expect((await sniff(Buffer.from('<!doctype html><p>hi</p>'), 'a.html'))?.contentType).toBe('text/html; charset=utf-8');
    expect((await sniff(Buffer.from('a,b\n1,2\n'), 'a.csv'))?.contentType).toBe('text/csv; charset=utf-8');
    expect((await sniff(Buffer.from('{"a":1}'), 'a.json'))?.contentType).toBe('application/json; charset=utf-8');
  });

  it('refuses text with an extension outside the list (scripts, SVG)', async () => {
    expect(await sniff(Buffer.from('#!/bin/sh\nrm -rf /\n'), 'install.sh')).toBeUndefined();
    expect(await sniff(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'), 'logo.svg')).toBeUndefined();
  });

  it('refuses bytes that are not UTF-8 text even under a text name: NUL, invalid sequences', async () => {
    expect(await sniff(Buffer.from('abc\u0000def'), 'a.txt')).toBeUndefined();
    expect(await sniff(Buffer.from([0x61, 0xff, 0xfe, 0x62]), 'a.txt')).toBeUndefined();
    expect(await sniff(Buffer.from([0x61, 0xc3]), 'a.txt')).toBeUndefined();
  });
});

describe('createTextValidator', () => {
  it('accepts a character split across two chunks', () => {
    const validator = createTextValidator();
    const bytes = Buffer.from('é');
    expect(validator.accepts(bytes.subarray(0, 1))).toBe(true);
    expect(validator.accepts(bytes.subarray(1))).toBe(true);
    expect(validator.end()).toBe(true);
  });

  it('refuses text that ends in the middle of a character', () => {
    const validator = createTextValidator();
    expect(validator.accepts(Buffer.from([0x61, 0xe2, 0x82]))).toBe(true);
    expect(validator.end()).toBe(false);
  });
});
