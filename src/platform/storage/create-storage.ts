import { join } from 'node:path';
import { createLocalStorage } from './local-storage.js';
import type { ObjectStorage } from './object-storage.js';
import type { S3StorageOptions } from './s3-storage.js';

export type StorageSettings =
  | { driver: 'local'; dataDir: string }
  | ({ driver: 's3' } & Omit<S3StorageOptions, 'client'>);

/** The configured store. The AWS SDK is loaded only when S3 is chosen. */
export async function createObjectStorage(settings: StorageSettings): Promise<ObjectStorage> {
  if (settings.driver === 'local') return createLocalStorage(join(settings.dataDir, 'objects'));
  const { createS3Storage } = await import('./s3-storage.js');
  return createS3Storage(settings);
}
