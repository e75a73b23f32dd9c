import { existsSync, readFileSync } from 'node:fs';
import { copyFile, cp, mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { PGlite } from '@electric-sql/pglite';
import { packageRoot } from '../../package-info.js';

// Initialising a PGlite cluster (initdb inside WASM) takes 5–15 s; copying a pristine one
// takes a fraction of a second. `npm install` builds the template once (prepare), so the
// first `npm start` and every test data dir start from a copy.

const PGLITE_VERSION: string = (
  JSON.parse(readFileSync(path.join(path.dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite')), '..', 'package.json'), 'utf8')) as { version: string }
).version;

/** The version in the name keeps a newer PGlite from opening an older cluster. */
export function pgliteTemplateDir(): string {
  return path.join(packageRoot, 'node_modules', '.cache', 'rampart', `pglite-template-${PGLITE_VERSION}`);
}

/**
 * PGlite runs PostgreSQL's defaults (shared_buffers 128MB, 100 connections), and starting up
 * zero-fills and indexes all of that inside WASM: ~0.45 s of every start. One embedded
 * session of development data needs a fraction of it.
 */
const PGLITE_OPTIONS = { startParams: [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB', '-c', 'max_connections=10'] };

/**
 * V8 compiles PGlite's 9 MB of WASM asynchronously by default,
 * and then holds the main thread for ~0.25 s after start-up while it finishes that work
 * (seen as the first file read after opening taking that long). Compiled synchronously the
 * start is as fast and nothing stalls afterwards. The flag is only read when a module is
 * compiled, so setting it at run time is safe; nothing else here compiles WASM on a hot path.
 */
function compileWasmSynchronously(): void {
  setFlagsFromString('--no-wasm-async-compilation');
}

/** Opens (creating when empty) the PGlite cluster in `dir`, the way every embedded database here runs. */
export function createPGlite(dir: string): Promise<PGlite> {
  compileWasmSynchronously();
  return PGlite.create(dir, PGLITE_OPTIONS);
}

let building: Promise<string> | undefined;

/** Builds the pristine cluster if it is missing; safe against concurrent builders. */
export function ensurePGliteTemplate(): Promise<string> {
  building ??= (async () => {
    const dir = pgliteTemplateDir();
    if (existsSync(dir)) return dir;
    await mkdir(path.dirname(dir), { recursive: true });
    const scratch = await mkdtemp(`${dir}-building-`);
    try {
      const pglite = await createPGlite(scratch);
      await pglite.close();
      await publishTemplate(scratch, dir);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
    return dir;
  })();
  return building;
}

/**
 * Seeds a new cluster directory from a template (`preferred` when it exists, else the
 * pristine one); returns false when there is none to copy.
 */
export async function seedFromTemplate(clusterDir: string, preferred?: string): Promise<boolean> {
  if (existsSync(clusterDir)) return false;
  const template = preferred && existsSync(preferred) ? preferred : pgliteTemplateDir();
  if (!existsSync(template)) return false;
  await mkdir(path.dirname(clusterDir), { recursive: true });
  const scratch = await mkdtemp(`${clusterDir}-seeding-`);
  await copyTree(template, scratch);
  await rename(scratch, clusterDir);
  return true;
}

// A cluster is ~1,000 small files. fs.cp copies them one at a time with two lstat and a chmod
// each (~0.8 s, most of a first start); copying many at once on libuv's thread pool takes ~0.13 s.
const COPIES_IN_FLIGHT = 16;

/** Copies a tree of plain files and folders into the existing, empty `to`. */
async function copyTree(from: string, to: string): Promise<void> {
  const entries = await readdir(from, { recursive: true, withFileTypes: true });
  // Anything else (a symlink, say) is left to fs.cp, which knows how to copy it.
  if (entries.some((entry) => !entry.isFile() && !entry.isDirectory())) return cp(from, to, { recursive: true });
  // Node 20.11 names the folder `path`; `parentPath` arrived in 20.12.
  const folderOf = (entry: (typeof entries)[number]) => (entry.parentPath as string | undefined) ?? (entry as unknown as { path: string }).path;
  const relative = (entry: (typeof entries)[number]) => path.relative(from, path.join(folderOf(entry), entry.name));
  // Parents sort before their children.
  for (const dir of entries.filter((entry) => entry.isDirectory()).map(relative).sort()) await mkdir(path.join(to, dir), { recursive: true });
  const files = entries.filter((entry) => entry.isFile()).map(relative);
  let next = 0;
  const copyNext = async (): Promise<void> => {
    while (next < files.length) {
      const file = files[next++]!;
      await copyFile(path.join(from, file), path.join(to, file));
    }
  };
  await Promise.all(Array.from({ length: COPIES_IN_FLIGHT }, copyNext));
}

/**
 * Publishes a finished cluster as `dir`: one rename, so a concurrent process sees all of it or
 * none, and a concurrent builder's copy wins.
 */
export async function publishTemplate(built: string, dir: string): Promise<void> {
  await mkdir(path.dirname(dir), { recursive: true });
  await rename(built, dir).catch((error: NodeJS.ErrnoException) => {
    if (!existsSync(dir)) throw error;
  });
}

export { PGLITE_VERSION };
