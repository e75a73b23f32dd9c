import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { holdDataDirLock, type DataDirLock } from '../../platform/db/data-dir-lock.js';
import { createPGlite, ensurePGliteTemplate, seedFromTemplate } from '../../platform/db/pglite-template.js';
import { pgliteDir } from '../../platform/db/template-paths.js';
import { BackupError } from './backup-error.js';

/**
 * The data directory's lock, or a message saying what to do: PGlite allows one process, so
 * the embedded database cannot be backed up or restored while `rampart serve` holds it.
 */
export async function lockEmbedded(dataDir: string): Promise<DataDirLock> {
  try {
    return await holdDataDirLock(dataDir);
  } catch (error) {
    const holder = /process (\d+)/.exec((error as Error).message)?.[1];
    if (!holder) throw error;
    throw new BackupError('refused', `the embedded database in ${dataDir} is in use by process ${holder} (rampart serve / npm start): PGlite allows one process. Stop it, run this command, then start it again; or use PostgreSQL (DATABASE_URL), which is backed up while it runs`);
  }
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
