// Small, valid files of every accepted kind (and a few refused ones), made in code so the
// tests carry no binary fixtures.

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
