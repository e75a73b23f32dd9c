import type { Readable } from 'node:stream';
import type { DependencyStatus } from '../health/readiness.js';

/**
 * Where uploaded bytes live: local disk (embedded) or S3. Bodies are streams end to end, so
 * an object of any size passes through a bounded amount of memory.
 */
export interface ObjectStorage {
  readonly driver: 'local' | 's3';
  /** Stores `body` under `key` (replacing it) and resolves with the bytes written. A failed put leaves nothing visible. */
  put(key: string, body: Readable, options?: { contentType?: string }): Promise<{ sizeBytes: number }>;
  /** The object's bytes; rejects with `ObjectNotFound` when there is none. */
  get(key: string): Promise<Readable>;
  /** Idempotent: deleting a missing object succeeds. */
  delete(key: string): Promise<void>;
  /** Every stored object, in no promised order, fetched a page at a time (for sweeps, never on a request path). */
  list(): AsyncIterable<StoredObject>;
  /**
   * Removes writes a crash left unfinished (local temp files, S3 multipart uploads) begun
   * before `olderThan`; on S3 only those whose key `owns` says are ours. Returns how many.
   */
  removeAbandonedWrites(olderThan: Date, owns: (key: string) => boolean): Promise<number>;
  /** Readiness: `ok:local` / `ok:s3`, or an error reason without secrets. */
  check(): Promise<DependencyStatus>;
}

export interface StoredObject {
  key: string;
  lastModified: Date;
}

export class ObjectNotFound extends Error {
  constructor(readonly key: string) {
    super(`no stored object under ${key}`);
    this.name = 'ObjectNotFound';
  }
}

// Keys are made by the application (`<tenant>/<uuid>`), never from user input; this pattern
// is a second line that keeps a key from ever naming a path outside the store.
const KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*(\/[A-Za-z0-9][A-Za-z0-9_-]*)*$/;
const MAX_KEY_LENGTH = 512;

/** Whether `key` is slash-separated segments of `[A-Za-z0-9_-]` (no dots, no empty segment). */
export const isObjectKey = (key: string): boolean => key.length <= MAX_KEY_LENGTH && KEY_PATTERN.test(key);

/** Throws unless `key` is a valid object key (see `isObjectKey`). */
export function assertObjectKey(key: string): void {
  if (!isObjectKey(key)) throw new Error(`invalid object key: ${JSON.stringify(key.slice(0, 80))}`);
}
