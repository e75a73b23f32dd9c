import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { openDatabase, pgliteDir } from './database.js';
import { migrateUp, migrationsDir } from './migrations.js';
import { PGLITE_VERSION, pgliteTemplateDir, publishTemplate } from './pglite-template.js';

// Applying every migration inside PGlite's WASM takes seconds on a first `npm start`; a
// cluster with them applied, built once by `npm install`, is copied instead. Its name holds
// the PGlite version and a digest of the migration files, so a changed or added migration
// never meets a stale copy: without a matching template the pristine one is migrated as before.

/** Where the migrated template for the shipped migrations lives (it may not exist). */
export function migratedTemplateDir(dir = migrationsDir()): string {
  const digest = createHash('sha256');
  for (const file of readdirSync(dir).sort()) digest.update(file).update('\0').update(readFileSync(path.join(dir, file))).update('\0');
  return path.join(path.dirname(pgliteTemplateDir()), `pglite-migrated-${PGLITE_VERSION}-${digest.digest('hex').slice(0, 16)}`);
}

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
