import { mkdir } from 'node:fs/promises';
import type { PGlite } from '@electric-sql/pglite';
import { holdDataDirLock } from './data-dir-lock.js';
import { seedFromTemplate } from './template-copy.js';
import { pgliteDir } from './template-paths.js';

export interface EmbeddedCluster {
  pglite: PGlite;
  /** Whether this open created the cluster (from a template). */
  seeded: boolean;
  /** Gives up the data directory; call after closing `pglite`. */
  release(): Promise<void>;
}

/**
 * Locks `dataDir` (two processes on one PGlite directory corrupt it; the second is refused
 * with a reason), creates its cluster from a template when there is none yet, and opens it.
 */
export async function openEmbeddedCluster(dataDir: string, seedTemplate?: string): Promise<EmbeddedCluster> {
  // PGlite's JavaScript (~0.2 s to load) is compiled while the template is being copied.
  const loading = import('./pglite-template.js');
  loading.catch(() => undefined); // awaited below; failing earlier must not leave it unhandled
  const dir = pgliteDir(dataDir);
  const lock = await holdDataDirLock(dataDir);
  try {
    const seeded = await seedFromTemplate(dir, seedTemplate);
    await mkdir(dir, { recursive: true });
    const { createPGlite } = await loading;
    return { pglite: await createPGlite(dir), seeded, release: () => lock.release() };
  } catch (error) {
    await lock.release();
    throw error;
  }
}
