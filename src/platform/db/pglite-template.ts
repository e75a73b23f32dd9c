import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { PGlite } from '@electric-sql/pglite';
import { compiledPGlite } from './early-pglite.js';
import { claimEarlySeed } from './early-seed.js';
import { copyToScratch } from './template-copy.js';
import { pgliteTemplateDir } from './template-paths.js';

// Initialising a PGlite cluster (initdb inside WASM) takes 5–15 s; copying a pristine one
// takes a fraction of a second. `npm install` builds the template once (prepare), so the
// first `npm start` and every test data dir start from a copy.

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
export async function createPGlite(dir: string): Promise<PGlite> {
  const compiled = await compiledPGlite();
  compileWasmSynchronously();
  return PGlite.create(dir, compiled ? { ...PGLITE_OPTIONS, pgliteWasmModule: compiled } : PGLITE_OPTIONS);
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
      // template0 and template1 (the sources of CREATE DATABASE) are 600 of the cluster's
      // ~1,080 files, and every first start copies them all. The embedded database is only
      // ever `postgres` and never creates another; without them a first start copies 55 %
      // fewer files.
      for (const template of ['template0', 'template1']) {
        await pglite.exec(`update pg_database set datistemplate = false where datname = '${template}'`);
        await pglite.exec(`drop database ${template}`);
      }
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
 * pristine one); returns false when there is none to copy. The launcher may have started the
 * copy already (early-seed.ts).
 */
export async function seedFromTemplate(clusterDir: string, preferred?: string): Promise<boolean> {
  const template = preferred && existsSync(preferred) ? preferred : pgliteTemplateDir();
  const early = await claimEarlySeed(clusterDir, template);
  if (existsSync(clusterDir) || !existsSync(template)) {
    if (early !== undefined) await rm(early, { recursive: true, force: true });
    return false;
  }
  const scratch = early ?? (await copyToScratch(template, clusterDir));
  await rename(scratch, clusterDir);
  return true;
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
