// Small, valid files of every accepted kind (and a few refused ones), made in code so the
// tests carry no binary fixtures.
import { once } from 'node:events';
import { createDeflate } from 'node:zlib';

/** A one-page PDF showing `text` in Helvetica, with a correct cross-reference table. */
export function pdfWithText(text: string): Buffer {
  return pdfWithPages([[text]]);
}

/** A PDF with one page per entry, each showing its lines in Helvetica, with a correct cross-reference table. */
export function pdfWithPages(pages: ReadonlyArray<readonly string[]>): Buffer {
  const escape = (line: string) => line.replace(/[()\\]/g, (c) => `\\${c}`);
  // Objects 1 (catalog), 2 (pages), 3 (font), then a page and its content stream per page.
  const pageIds = pages.map((_, i) => 4 + 2 * i);
  const objects = ['<< /Type /Catalog /Pages 2 0 R >>', `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pages.length} >>`, '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>'];
  pages.forEach((lines, i) => {
    const content = `BT /F1 24 Tf 72 700 Td 28 TL ${lines.map((line) => `(${escape(line)}) '`).join(' ')} ET`;
    objects.push(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents ${pageIds[i]! + 1} 0 R /Resources << /Font << /F1 3 0 R >> >> >>`);
    objects.push(`<< /Length ${content.length} >>\nstream\n${content}\nendstream`);
  });
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/** A 1×1 PNG. */
export const PNG_1X1 = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

/** The start of a Windows executable (MZ header, DOS stub): what a disguised `.exe` begins with. */
export function windowsExecutable(size = 8192): Buffer {
  const bytes = Buffer.alloc(size);
  Buffer.from('4d5a90000300000004000000ffff0000b800000000000000400000000000000000000000000000000000000000000000000000000000000000000000800000000e1fba0e00b409cd21b8014ccd21546869732070726f6772616d2063616e6e6f742062652072756e20696e20444f53206d6f64652e0d0d0a2400000000000000', 'hex').copy(bytes);
  bytes.write('PE\0\0', 0x80, 'latin1');
  return bytes;
}

/** The start of a Linux ELF binary. */
export function elfExecutable(size = 8192): Buffer {
  const bytes = Buffer.alloc(size);
  Buffer.from('7f454c4602010100000000000000000003003e00010000000000000000000000', 'hex').copy(bytes);
  return bytes;
}

/**
 * A valid one-page PDF whose content stream (FlateDecode) inflates to `inflatedBytes` of spaces
 * after a line of text: a decompression bomb of about a thousandth of that size. The stream is
 * deflated a mebibyte at a time, so making it never holds the inflated bytes.
 */
export async function pdfDecompressionBomb(inflatedBytes: number): Promise<Buffer> {
  const deflate = createDeflate({ level: 9 });
  const compressed: Buffer[] = [];
  deflate.on('data', (chunk: Buffer) => compressed.push(chunk));
  const finished = new Promise<void>((resolve, reject) => deflate.on('end', resolve).on('error', reject));
  const text = Buffer.from('BT /F1 24 Tf 72 700 Td (Quarterly zebra report) Tj ET\n');
  deflate.write(text);
  const spaces = Buffer.alloc(1024 * 1024, 0x20);
  for (let left = inflatedBytes - text.length; left > 0; left -= spaces.length) {
    if (!deflate.write(left >= spaces.length ? spaces : spaces.subarray(0, left))) await once(deflate, 'drain');
  }
  deflate.end();
  await finished;
  const stream = Buffer.concat(compressed);
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [4 0 R] /Count 1 >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R /Resources << /Font << /F1 3 0 R >> >> >>',
  ];
  const parts: Buffer[] = [Buffer.from('%PDF-1.4\n')];
  let length = parts[0]!.length;
  const offsets: number[] = [];
  const add = (part: Buffer) => {
    parts.push(part);
    length += part.length;
  };
  objects.forEach((body, i) => {
    offsets.push(length);
    add(Buffer.from(`${i + 1} 0 obj\n${body}\nendobj\n`, 'latin1'));
  });
  offsets.push(length);
  add(Buffer.from(`5 0 obj\n<< /Length ${stream.length} /Filter /FlateDecode >>\nstream\n`, 'latin1'));
  add(stream);
  add(Buffer.from('\nendstream\nendobj\n', 'latin1'));
  const xref = length;
  add(Buffer.from(`xref\n0 6\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`, 'latin1'));
  return Buffer.concat(parts);
}
