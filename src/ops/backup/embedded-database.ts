import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { holdDataDirLock, type DataDirLock } from '../../platform/db/data-dir-lock.js';
import { createPGlite, ensurePGliteTemplate, seedFromTemplate } from '../../platform/db/pglite-template.js';
import { pgliteDir } from '../../platform/db/template-paths.js';

/**
 * The data directory's lock. PGlite allows one process: while `rampart serve` holds it this
 * throws DataDirInUse, which the CLI turns into exit 5 and what to do.
 */
export function lockEmbedded(dataDir: string): Promise<DataDirLock> {
  return holdDataDirLock(dataDir);
}

/** The embedded database of a data directory (the caller holds its lock). */
export function openEmbedded(dataDir: string): Promise<PGlite> {
  return createPGlite(pgliteDir(dataDir));
}

/** A fresh, empty PGlite cluster in `dir` (a copy of the pristine template). */
export async function freshEmbeddedCluster(dir: string): Promise<PGlite> {
  await ensurePGliteTemplate();
  await seedFromTemplate(dir);
  return createPGlite(dir);
}

/** A throwaway embedded database for a restore drill; `dispose` deletes it. */
export async function scratchEmbedded(): Promise<{ pglite: PGlite; dispose(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rampart-drill-'));
  try {
    const pglite = await freshEmbeddedCluster(path.join(dir, 'pglite'));
    return {
      pglite,
      async dispose() {
        await pglite.close().catch(() => undefined);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
