import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Results } from '@electric-sql/pglite';
import { DEFAULT_DATA_DIR } from '../../config/data-dir.js';
import type { PGliteSession } from './pglite-dialect.js';
import { migratedTemplateDir } from './template-paths.js';

// Embedded PGlite runs on a thread of its own (pglite-thread.ts), and this is the main
// thread's handle on it. Kept free of PGlite and Kysely: the launcher starts the thread before
// the rest of Rampart is loaded, so the cluster opens (~1 s of WASM) while this thread is
// still loading JavaScript.

export interface ThreadData {
  dataDir: string;
  seedTemplate?: string;
}

export type ThreadRequest = { id: number } & (
  | { op: 'query'; sql: string; params: unknown[] }
  | { op: 'exec'; sql: string }
  | { op: 'listen' | 'unlisten'; channel: string }
  | { op: 'close' }
);

export interface WireError {
  message: string;
  name?: string;
  fields: Record<string, string | number | boolean>;
}

export type ThreadReply =
  | { type: 'ready'; seeded: boolean }
  | { type: 'failed'; error: WireError }
  | { type: 'result'; id: number; result: unknown }
  | { type: 'error'; id: number; error: WireError }
  | { type: 'notify'; channel: string; payload: string };

/** A PGlite database on its own thread, with the same surface the dialect uses of an in-process one. */
export class PGliteThread implements PGliteSession {
  readonly data: ThreadData;
  readonly waitReady: Promise<{ seeded: boolean }>;
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  readonly #listeners = new Map<string, Set<(payload: string) => void>>();
  #nextId = 1;
  #holds = 0;
  #stopped: Error | undefined;

  constructor(script: URL, data: ThreadData) {
    this.data = data;
    // Node's options are the process's, but `--input-type` (of `node -e`) would stop a file.
    this.#worker = new Worker(script, { workerData: data, execArgv: process.execArgv.filter((arg) => !arg.startsWith('--input-type')) });
    let opened: (value: { seeded: boolean }) => void = () => undefined;
    let failed: (error: Error) => void = () => undefined;
    this.waitReady = new Promise((resolve, reject) => {
      opened = resolve;
      failed = reject;
    });
    // An early thread may fail before anyone asks (a locked data directory): its claimer sees it.
    this.waitReady.catch(() => undefined);
    this.#worker.on('message', (reply: ThreadReply) => {
      switch (reply.type) {
        case 'ready':
          return opened({ seeded: reply.seeded });
        case 'failed':
          return failed(fromWire(reply.error));
        case 'notify':
          for (const listener of this.#listeners.get(reply.channel) ?? []) listener(reply.payload);
          return;
        default: {
          const call = this.#pending.get(reply.id);
          this.#pending.delete(reply.id);
          if (reply.type === 'result') call?.resolve(reply.result);
          else call?.reject(fromWire(reply.error));
        }
      }
    });
    const stop = (error: Error) => {
      this.#stopped ??= error;
      failed(error);
      for (const call of this.#pending.values()) call.reject(error);
      this.#pending.clear();
    };
    this.#worker.on('error', (error) => stop(new Error(`the embedded database thread failed: ${error.message}`)));
    this.#worker.on('exit', (code) => stop(new Error(`the embedded database thread has stopped (exit code ${code})`)));
    // Like a pooled socket, it keeps the process alive only while an answer is awaited. After
    // the listeners: adding a 'message' listener refs the thread again.
    this.#worker.unref();
  }

  get closed(): boolean {
    return this.#stopped !== undefined;
  }

  /** Waits until the cluster is open, keeping the process alive meanwhile; rejects with the reason it could not be. */
  ready(): Promise<{ seeded: boolean }> {
    return this.#holding(this.waitReady);
  }

  query<R>(sql: string, params: unknown[]): Promise<Results<R>> {
    return this.#call({ op: 'query', sql, params }) as Promise<Results<R>>;
  }

  exec(sql: string): Promise<Array<Results>> {
    return this.#call({ op: 'exec', sql }) as Promise<Array<Results>>;
  }

  async listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    let listeners = this.#listeners.get(channel);
    if (!listeners) this.#listeners.set(channel, (listeners = new Set()));
    listeners.add(onNotify);
    if (listeners.size === 1) await this.#call({ op: 'listen', channel });
    return async () => {
      listeners.delete(onNotify);
      if (listeners.size === 0 && this.#listeners.get(channel) === listeners) {
        this.#listeners.delete(channel);
        if (!this.closed) await this.#call({ op: 'unlisten', channel });
      }
    };
  }

  /** Closes the cluster and gives up the data directory; the thread then ends. */
  async close(): Promise<void> {
    if (this.closed) return;
    const exited = new Promise((resolve) => this.#worker.once('exit', resolve));
    // A thread still opening is closed once it is open; one that failed to open ends by itself.
    const opened = await this.#holding(this.waitReady).then(
      () => true,
      () => false,
    );
    if (opened) {
      try {
        await this.#call({ op: 'close' });
      } catch (error) {
        if (this.closed) return; // it stopped meanwhile: nothing is left to close
        await this.#worker.terminate();
        throw error;
      }
    }
    await this.#holding(exited);
  }

  #call(request: DistributiveOmit<ThreadRequest, 'id'>): Promise<unknown> {
    if (this.#stopped) return Promise.reject(this.#stopped);
    const id = this.#nextId++;
    const answer = new Promise<unknown>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    this.#worker.postMessage({ ...request, id });
    return this.#holding(answer);
  }

  async #holding<T>(promise: Promise<T>): Promise<T> {
    if (this.#holds++ === 0) this.#worker.ref();
    try {
      return await promise;
    } finally {
      if (--this.#holds === 0) this.#worker.unref();
    }
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function fromWire(wire: WireError): Error {
  const error = Object.assign(new Error(wire.message), wire.fields);
  if (wire.name) error.name = wire.name;
  return error;
}

let threadScript: URL | undefined;
let early: PGliteThread | undefined;

/**
 * Set by the launcher of the bundle, where the thread's script is built beside it: from then
 * on embedded databases open on a thread. Unset (the sources run by tests in-process), they
 * open on the calling thread.
 */
export function runEmbeddedDatabasesOn(script: URL): void {
  threadScript = script;
}

/**
 * Opens the embedded database `rampart <args>` will ask for, before the configuration is
 * loaded. A guess from the environment alone, made only for the default development set-up:
 * a claim that does not match it closes this thread and opens the right one.
 */
export function startEarlyPGliteThread(args: readonly string[], env: NodeJS.ProcessEnv): PGliteThread | undefined {
  if (!threadScript || early || !['serve', 'worker'].includes(args[0] ?? '') || env.DATABASE_URL) return undefined;
  // Anything else changes which template a new cluster is seeded from (or refuses to start).
  if ((env.RAMPART_ENV ?? 'development') !== 'development' || env.MIGRATE_ON_START !== undefined) return undefined;
  try {
    early = new PGliteThread(threadScript, { dataDir: path.resolve(env.RAMPART_DATA_DIR || DEFAULT_DATA_DIR), seedTemplate: migratedTemplateDir() });
  } catch {
    // Only a head start: the database opens the usual way when asked.
  }
  return early;
}

/** The thread opening `data`: the early one when it guessed right, else a new one; undefined when embedded databases run in-process. */
export async function pgliteThreadFor(data: ThreadData): Promise<PGliteThread | undefined> {
  const guess = early;
  early = undefined;
  if (guess) {
    if (guess.data.dataDir === path.resolve(data.dataDir) && guess.data.seedTemplate === data.seedTemplate) return guess;
    await guess.close();
  }
  return threadScript && new PGliteThread(threadScript, { ...data, dataDir: path.resolve(data.dataDir) });
}
