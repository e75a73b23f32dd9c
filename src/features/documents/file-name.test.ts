import { describe, expect, it } from 'vitest';
import { attachmentDisposition, extensionOf, sanitiseFileName } from './file-name.js';

describe('sanitiseFileName', () => {
  it('keeps only the last path segment, whichever slash the client used', () => {
    expect(sanitiseFileName('../../etc/passwd')).toBe('passwd');
    expect(sanitiseFileName('C:\\Users\\ann\\report.pdf')).toBe('report.pdf');
    expect(sanitiseFileName('/var/tmp/')).toBe('document');
  });

  it('leaves no dot-name behind: `..`, `.`, `.htaccess`', () => {
    expect(sanitiseFileName('..')).toBe('document');
    expect(sanitiseFileName('.')).toBe('document');
    expect(sanitiseFileName('.htaccess')).toBe('htaccess');
    expect(sanitiseFileName('notes.txt...')).toBe('notes.txt');
  });

  it('strips control characters and the bidi override that disguises an extension', () => {
    expect(sanitiseFileName('a\u0000b\r\nc.txt')).toBe('abc.txt');
    expect(sanitiseFileName('invoice\u202Efdp.exe')).toBe('invoicefdp.exe');
  });

  it('replaces characters reserved in headers and on Windows', () => {
    expect(sanitiseFileName('a"b<c>d|e?.md')).toBe('a_b_c_d_e_.md');
  });

  it('keeps Unicode names, normalised to NFC', () => {
    expect(sanitiseFileName('Re\u0301sume\u0301 2024.pdf')).toBe('Résumé 2024.pdf');
    expect(sanitiseFileName('報告書.pdf')).toBe('報告書.pdf');
  });

  it('caps a long name at 200 bytes and keeps its extension', () => {
    const capped = sanitiseFileName(`${'é'.repeat(300)}.pdf`);
    expect(Buffer.byteLength(capped)).toBeLessThanOrEqual(200);
    expect(capped.endsWith('.pdf')).toBe(true);
  });

  it('gives a name to a missing or blank one', () => {
    expect(sanitiseFileName(undefined)).toBe('document');
    expect(sanitiseFileName('   ')).toBe('document');
  });
});

describe('extensionOf', () => {
  it('is lower case, without the dot; none for dot-files and bare names', () => {
    expect(extensionOf('Report.PDF')).toBe('pdf');
    expect(extensionOf('README')).toBe('');
    expect(extensionOf('archive.tar.gz')).toBe('gz');
  });
});

describe('attachmentDisposition', () => {
  it('carries an ASCII fallback and the exact UTF-8 name (RFC 8187)', () => {
    expect(attachmentDisposition('Résumé (final).pdf')).toBe(`attachment; filename="R_sum_ (final).pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%28final%29.pdf`);
  });

  it('cannot be broken out of by quotes or backslashes', () => {
    expect(attachmentDisposition('a\\"b.txt')).toBe(`attachment; filename="a__b.txt"; filename*=UTF-8''a%5C%22b.txt`);
  });
});
