import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * PGlite's 9 MB of WASM takes ~0.15 s to compile. Started by the launcher, V8 compiles it
 * on a background thread while the main thread is still loading Rampart's JavaScript; the
 * embedded database then instantiates the compiled module instead of compiling its own.
 */
let compiling: Promise<WebAssembly.Module | undefined> | undefined;

export function startCompilingPGlite(): void {
  if (compiling) return;
  try {
    const wasm = path.join(path.dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite')), 'pglite.wasm');
    compiling = readFile(wasm).then(
      (bytes) => WebAssembly.compile(bytes).catch(() => undefined),
      () => undefined,
    );
  } catch {
    // Only a head start: PGlite finds and compiles its own module otherwise.
  }
}

/** The module compiled ahead, if one was started and succeeded. */
export function compiledPGlite(): Promise<WebAssembly.Module | undefined> {
  return compiling ?? Promise.resolve(undefined);
}
