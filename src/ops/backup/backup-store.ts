import type { Readable } from 'node:stream';

/**
 * Where backup files live: a local directory or an S3 prefix. A backup's data file is
 * uploaded first and read back; its metadata JSON is written last, and only a backup with
 * metadata is listed, so an interrupted backup is never taken for a complete one.
 */
export interface BackupStore {
  /** The directory or `s3://bucket/prefix`, for messages. */
  readonly location: string;
  /** Stores `body` under `name`, not yet published; rejects (leaving nothing) when the body or the write fails. */
  upload(name: string, body: Readable): Promise<PendingFile>;
  /** A published file's bytes; rejects with BackupError when it is missing. */
  read(name: string): Promise<Readable>;
  /** A small text file (metadata, report), or undefined when there is none. */
  readText(name: string): Promise<string | undefined>;
  /** Replaces a small text file in one step. */
  writeText(name: string, text: string): Promise<void>;
  /** Names of the published files. */
  names(): Promise<string[]>;
  /** Idempotent. */
  remove(name: string): Promise<void>;
  /** The full path or URL of a file, for messages. */
  describe(name: string): string;
}

export interface PendingFile {
  /** The stored bytes, for the read-back check. */
  read(): Promise<Readable>;
  /** Makes the file visible under its name. */
  publish(): Promise<void>;
  /** Removes the stored bytes. */
  discard(): Promise<void>;
}
