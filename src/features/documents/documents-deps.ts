import type { AccessControl } from '../auth/index.js';
import type { JobQueue } from '../../platform/queue/job-types.js';
import type { ObjectStorage } from '../../platform/storage/object-storage.js';
import type { Db } from './documents-store.js';

/** What the document routes need, built once in the composition root. */
export interface DocumentsDeps {
  db: Db;
  storage: ObjectStorage;
  /** Text extraction is enqueued in the transaction that inserts the document. */
  queue: JobQueue;
  /** Roles and permissions (auth's identity): who may read (`documents:read`) and write (`documents:write`). */
  access: AccessControl;
  /** UPLOAD_MAX_BYTES. */
  uploadMaxBytes: number;
}
