import type { ObjectStorage } from '../../platform/storage/object-storage.js';
import { storageKeysInUse, type Db } from './documents-store.js';
import { isDocumentKey } from './storage-key.js';

const BATCH = 500;

export interface OrphanSweepOptions {
  /** Objects younger than this are left alone: their upload may still be writing its row. */
  minAgeMs: number;
  now?: Date;
  signal?: AbortSignal | undefined;
}

export interface SweepResult {
  /** Keys of the objects deleted. */
  deleted: string[];
  /** Unfinished writes removed (temp files, multipart uploads). */
  abandonedWrites: number;
}

/**
 * Deletes stored objects that no document row points to: what a crash between storing an
 * upload's bytes and writing its row leaves behind. Only document-shaped keys older than
 * `minAgeMs` are candidates; rows that are soft-deleted still own their objects (the purge
 * removes those). Unfinished writes as old are removed first (a crash during the put itself).
 */
export async function sweepOrphanObjects(db: Db, storage: ObjectStorage, options: OrphanSweepOptions): Promise<SweepResult> {
  const cutoff = (options.now ?? new Date()).getTime() - options.minAgeMs;
  const abandonedWrites = options.signal?.aborted ? 0 : await storage.removeAbandonedWrites(new Date(cutoff), isDocumentKey);
  const deleted: string[] = [];
  let batch: string[] = [];
  const settle = async () => {
    const inUse = await storageKeysInUse(db, batch);
    for (const key of batch) {
      if (inUse.has(key)) continue;
      await storage.delete(key);
      deleted.push(key);
    }
    batch = [];
  };
  for await (const object of storage.list()) {
    if (options.signal?.aborted) break;
    if (object.lastModified.getTime() > cutoff || !isDocumentKey(object.key)) continue;
    batch.push(object.key);
    if (batch.length >= BATCH) await settle();
  }
  if (!options.signal?.aborted) await settle();
  return { deleted, abandonedWrites };
}
