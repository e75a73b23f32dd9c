// Entry of the process that extraction-process.ts starts for each PDF or HTML document: the
// document comes on stdin, its limits as arguments, and one message goes back over IPC.
import { parseDocument, UnextractableDocument, type ParsedFormat } from './document-parsers.js';
import { normaliseText } from './indexed-text.js';

export type ParseResult = { text: string } | { failure: { unextractable: boolean; message: string } };

const [format, maxReadBytes, maxInflatedBytes, maxPages] = process.argv.slice(2) as [ParsedFormat, string, string, string];

// A parent that died (kill -9) no longer watches this process's memory: stop with it.
process.once('disconnect', () => process.exit(1));

/** Stdin up to `limit` bytes; the rest is left unread (the parent's write then fails, which it ignores). */
async function readInput(limit: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of process.stdin) {
    const buffer = chunk as Buffer;
    chunks.push(total + buffer.length > limit ? buffer.subarray(0, limit - total) : buffer);
    total += buffer.length;
    if (total >= limit) break;
  }
  process.stdin.destroy();
  return Buffer.concat(chunks);
}

let result: ParseResult;
try {
  const bytes = await readInput(Number(maxReadBytes));
  // Cut to what is indexed here: a hostile document's text could be far larger than the index takes.
  result = { text: normaliseText(await parseDocument(format, bytes, { maxInflatedBytes: Number(maxInflatedBytes), maxPages: Number(maxPages) })) };
} catch (error) {
  // Only our own sentences (UnextractableDocument) cross back; a parser's message may quote the document.
  result = error instanceof UnextractableDocument ? { failure: { unextractable: true, message: error.message } } : { failure: { unextractable: false, message: (error as Error).name ?? 'Error' } };
}
// Exit once the message is out: pdf.js may leave timers or handles that would keep the process alive.
process.send!(result, () => process.exit(0));
