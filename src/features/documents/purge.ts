import type { ObjectStorage } from '../../platform/storage/object-storage.js';
import { deleteDocumentRow, findPurgeable, type Db } from './documents-store.js';

const BATCH = 100;

/**
 * Removes documents deleted at least `retentionS` ago: the stored object first, then the row.
 * In that order a failure leaves a row that the next run retries, never an object without a
 * row that nothing would ever find. Returns how many were purged.
 */
export async function purgeDeletedDocuments(db: Db, storage: ObjectStorage, retentionS: number, signal?: AbortSignal): Promise<number> {
  let purged = 0;
  for (;;) {
    const batch = await findPurgeable(db, retentionS, BATCH);
    for (const doc of batch) {
      if (signal?.aborted) return purged;
      await storage.delete(doc.storage_key);
      await deleteDocumentRow(db, doc.id);
      purged++;
    }
    if (batch.length < BATCH) return purged;
  }
}
