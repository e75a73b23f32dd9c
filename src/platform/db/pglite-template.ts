import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
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

let building: Promise<string> | undefined;

/** Builds the pristine cluster if it is missing; safe against concurrent builders. */
export function ensurePGliteTemplate(): Promise<string> {
  building ??= (async () => {
    const dir = pgliteTemplateDir();
    if (existsSync(dir)) return dir;
    await mkdir(path.dirname(dir), { recursive: true });
    const scratch = await mkdtemp(`${dir}-building-`);
    try {
      const pglite = await PGlite.create(scratch);
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
  await cp(template, scratch, { recursive: true });
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

export { PGLITE_VERSION };
