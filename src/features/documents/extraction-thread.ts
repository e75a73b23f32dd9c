import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { packageRoot } from '../../package-info.js';
import { UnextractableDocument, type ParsedFormat } from './document-parsers.js';
import type { ThreadResult } from './extraction-thread-main.js';

// Replaced with `true` by scripts/bundle.mjs; undeclared (typeof 'undefined') when running from dist/src or the sources.
declare const RAMPART_BUNDLE: boolean | undefined;

// The bundle ships the thread's entry beside the CLI; the sources and dist/src run tsc's output (tests build first).
const THREAD_ENTRY =
  typeof RAMPART_BUNDLE === 'undefined'
    ? join(packageRoot, 'dist', 'src', 'features', 'documents', 'extraction-thread-main.js')
    : join(packageRoot, 'dist', 'threads', 'extract-text.mjs');

export interface ThreadLimits {
  /** V8 heap of the thread (DOCUMENTS_EXTRACT_MAX_MEMORY_MB); a document that needs more is unextractable. */
  maxHeapMb: number;
  /** Aborting ends the thread at once, wherever the parser is. */
  signal?: AbortSignal;
}

/**
 * Parses a document on a thread of its own. pdf.js and the HTML parser are synchronous for
 * seconds on a large document: on the calling thread they would stall every request (with
 * `npm start`, web and worker share one event loop) and every job, heartbeat and lease of the
 * worker; a hostile document could also exhaust the process's heap. A thread is started per
 * document (tens of milliseconds against seconds of parsing), bounded in heap, and terminated
 * when the job is aborted or times out.
 */
export function parseInThread(format: ParsedFormat, bytes: Uint8Array, limits: ThreadLimits): Promise<string> {
  const { signal } = limits;
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  // A copy the thread owns outright (moved, not cloned); `bytes` may be a view into a shared pool.
  const owned = new Uint8Array(bytes);
  return new Promise<string>((resolve, reject) => {
    const worker = new Worker(THREAD_ENTRY, {
      workerData: { format, bytes: owned },
      transferList: [owned.buffer],
      resourceLimits: { maxOldGenerationSizeMb: limits.maxHeapMb },
      // The thread's output is not ours to print: a parser's warning may quote the document.
      stdout: true,
      stderr: true,
    });
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      outcome();
      void worker.terminate();
    };
    const onAbort = () => settle(() => reject(abortReason(signal!)));
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.stdout.resume();
    worker.stderr.resume();
    worker.once('message', (result: ThreadResult) =>
      settle(() => ('text' in result ? resolve(result.text) : reject(result.failure.unextractable ? new UnextractableDocument(result.failure.message) : new Error(`text extraction failed (${result.failure.message})`)))),
    );
    worker.once('error', (error: Error & { code?: string }) =>
      settle(() =>
        reject(error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? new UnextractableDocument(`needs more than ${limits.maxHeapMb} MB of memory to parse`) : new Error(`text extraction thread failed (${error.code ?? error.name})`)),
      ),
    );
    worker.once('exit', (code) => settle(() => reject(new Error(`text extraction thread exited (code ${code}) without a result`))));
  });
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('text extraction aborted');
}
