// Entry of the thread that extraction-thread.ts starts for each PDF or HTML document.
import { parentPort, workerData } from 'node:worker_threads';
import { parseDocument, UnextractableDocument, type ParsedFormat } from './document-parsers.js';

export type ThreadResult = { text: string } | { failure: { unextractable: boolean; message: string } };

const { format, bytes } = workerData as { format: ParsedFormat; bytes: Uint8Array };
let result: ThreadResult;
try {
  result = { text: await parseDocument(format, bytes) };
} catch (error) {
  // Only our own sentences (UnextractableDocument) cross back; a parser's message may quote the document.
  result = error instanceof UnextractableDocument ? { failure: { unextractable: true, message: error.message } } : { failure: { unextractable: false, message: (error as Error).name ?? 'Error' } };
}
parentPort?.postMessage(result);
