import { fork } from 'node:child_process';
import { abortReason } from '../../platform/concurrency/concurrency-gate.js';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { getPriority, setPriority } from 'node:os';
import { join } from 'node:path';
import { pipeline, type Readable } from 'node:stream';
import { packageRoot } from '../../package-info.js';
import { UnextractableDocument, type ParsedFormat } from './document-parsers.js';
import type { ParseResult } from './extraction-process-main.js';

// Replaced with `true` by scripts/bundle.mjs; undeclared (typeof 'undefined') when running from dist/src or the sources.
declare const RAMPART_BUNDLE: boolean | undefined;

// The bundle ships the process's entry beside the CLI; the sources and dist/src run tsc's output (tests build first).
const PROCESS_ENTRY =
  typeof RAMPART_BUNDLE === 'undefined'
    ? join(packageRoot, 'dist', 'src', 'features', 'documents', 'extraction-process-main.js')
    : join(packageRoot, 'dist', 'processes', 'extract-text.mjs');

const MIB = 1024 * 1024;
// How often the parent reads the child's resident memory. pdf.js grows a buffer by copying it
// into one twice its size, at gigabytes a second: the overshoot past the budget is what it can
// touch in this long.
const MEMORY_POLL_MS = 20;
// Linux says what a process holds in /proc/<pid>/status; elsewhere only the heap limit and the
// decompression limit hold (see docs/decisions.md, "Documents: extraction in a process").
const CAN_READ_RESIDENT_MEMORY = existsSync('/proc/self/status');

// Ten steps below the process that starts it, as `nice` would (19 is the lowest).
const EXTRACTION_NICENESS = 10;

export interface ExtractionLimits {
  /** DOCUMENTS_EXTRACT_MAX_MEMORY_MB: resident memory of the process; past it, it is killed. */
  maxMemoryMb: number;
  /** DOCUMENTS_EXTRACT_MAX_DECOMPRESSED_MB: what a PDF's compressed streams may inflate to. */
  maxDecompressedMb: number;
  /** DOCUMENTS_EXTRACT_MAX_PAGES. */
  maxPages: number;
}

/**
 * Parses a document in a process of its own, fed `content` (at most `maxReadBytes` of it) on
 * stdin. pdf.js and the HTML parser are synchronous for seconds on a large document, and pdf.js
 * inflates streams into buffers outside the V8 heap: in the worker's process (with `npm start`,
 * the web server's) a hostile PDF took gigabytes that stayed after it failed. A process is
 * bounded for real (its resident memory is watched and it is killed past its budget), its
 * memory goes back to the system when it ends, it holds none of our secrets (empty
 * environment), and it is killed at once when the job is aborted or times out.
 */
export function parseInProcess(format: ParsedFormat, content: Readable, maxReadBytes: number, limits: ExtractionLimits, signal?: AbortSignal): Promise<string> {
  if (signal?.aborted) {
    content.destroy();
    return Promise.reject(abortReason(signal));
  }
  return new Promise<string>((resolve, reject) => {
    const child = fork(PROCESS_ENTRY, [format, String(maxReadBytes), String(limits.maxDecompressedMb * MIB), String(limits.maxPages)], {
      // The heap cannot outgrow the process's budget; our own flags (source maps, plugins' hooks) are not the parser's.
      execArgv: [`--max-old-space-size=${limits.maxMemoryMb}`],
      // The parser of an untrusted document gets nothing of our environment, so none of its secrets.
      env: {},
      // Its output is not ours to print: a parser's warning may quote the document.
      stdio: ['pipe', 'ignore', 'ignore', 'ipc'],
    });
    // Parsing is background work: on a busy machine the requests of the process that started it go first.
    try {
      setPriority(child.pid!, Math.min(19, getPriority() + EXTRACTION_NICENESS));
    } catch {
      // Not permitted here (or the process is already gone): it runs at our priority.
    }
    let overBudget = false;
    // The outcome is known (a result, a failure, an abort) before the process is gone; the
    // promise settles only once it has exited, so the caller's concurrency slot covers the
    // whole life of the process and DOCUMENTS_EXTRACT_CONCURRENCY bounds processes, not parses.
    let outcome: (() => void) | undefined;
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let finished = false;
    const finish = () => {
      if (finished || !outcome || !exited) return;
      finished = true;
      outcome();
    };
    const watch = CAN_READ_RESIDENT_MEMORY
      ? watchResidentMemory(child.pid!, limits.maxMemoryMb * MIB, () => {
          overBudget = true;
          child.kill('SIGKILL');
        })
      : undefined;
    const settle = (then: () => void) => {
      if (outcome) return;
      outcome = then;
      clearInterval(watch);
      signal?.removeEventListener('abort', onAbort);
      content.destroy();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      finish();
    };
    const onAbort = () => settle(() => reject(abortReason(signal!)));
    signal?.addEventListener('abort', onAbort, { once: true });
    // The child stops reading at its limit, or dies: its end of the pipe closing is no failure of ours.
    pipeline(content, child.stdin!, () => undefined);
    child.once('message', (result: ParseResult) =>
      settle(() => ('text' in result ? resolve(result.text) : reject(result.failure.unextractable ? new UnextractableDocument(result.failure.message) : new Error(`text extraction failed (${result.failure.message})`)))),
    );
    child.once('error', (error: NodeJS.ErrnoException) => {
      // A process that never started has no exit to wait for.
      if (child.pid === undefined) exited ??= { code: null, signal: null };
      settle(() => reject(new Error(`text extraction process failed (${error.code ?? error.name})`)));
    });
    // Without a result only once the process has exited *and* its IPC channel is read to the
    // end: the exit can be seen before a result sent just before it ('close' as well).
    let disconnected = false;
    const endedWithoutResult = () => {
      if (!exited || !disconnected) return;
      const { code, signal: exitSignal } = exited;
      settle(() =>
        // SIGABRT is V8 giving up at the heap limit; SIGKILL after overBudget is ours.
        reject(overBudget || exitSignal === 'SIGABRT' ? new UnextractableDocument(`needs more than ${limits.maxMemoryMb} MB of memory to parse (DOCUMENTS_EXTRACT_MAX_MEMORY_MB)`) : new Error(`text extraction process ended (${exitSignal ?? `code ${code}`}) without a result`)),
      );
    };
    child.once('exit', (code, exitSignal) => {
      exited = { code, signal: exitSignal };
      endedWithoutResult();
      finish();
    });
    child.once('disconnect', () => {
      disconnected = true;
      endedWithoutResult();
    });
  });
}

/** Calls `onOver` once the process's resident memory passes `maxBytes`. */
function watchResidentMemory(pid: number, maxBytes: number, onOver: () => void): NodeJS.Timeout {
  const status = `/proc/${pid}/status`;
  let reading = false;
  return setInterval(() => {
    if (reading) return;
    reading = true;
    readFile(status, 'latin1')
      .then((text) => {
        const kib = /^VmRSS:\s+(\d+) kB$/m.exec(text)?.[1];
        if (kib !== undefined && Number(kib) * 1024 > maxBytes) onOver();
      })
      // Gone already: its 'close' says how it ended.
      .catch(() => undefined)
      .finally(() => {
        reading = false;
      });
  }, MEMORY_POLL_MS);
}

