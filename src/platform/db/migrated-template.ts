import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { openDatabase } from './database.js';
import { migrateUp } from './migrations.js';
import { publishTemplate } from './pglite-template.js';
import { migratedTemplateDir, pgliteDir } from './template-paths.js';

// Applying every migration inside PGlite's WASM takes seconds on a first `npm start`; a
// cluster with them applied, built once by `npm install`, is copied instead. Without a
// template matching the migration files (template-paths.ts) the pristine one is migrated as before.

/** Builds the migrated template if it is missing; returns its directory. */
export async function ensureMigratedTemplate(): Promise<string> {
  const dir = migratedTemplateDir();
  if (existsSync(dir)) return dir;
  // Built beside its final place: the publishing rename cannot cross file systems.
  await mkdir(path.dirname(dir), { recursive: true });
  const dataDir = await mkdtemp(`${dir}-building-`);
  try {
    const database = await openDatabase({ dataDir, poolMax: 1, idleTimeoutMs: 0, connectTimeoutMs: 5_000 });
    try {
      await migrateUp(database);
    } finally {
      await database.close();
    }
    await publishTemplate(pgliteDir(dataDir), dir);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
  return dir;
}
