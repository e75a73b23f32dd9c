import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BackupError } from './backup-error.js';
import type { BackupStore } from './backup-store.js';

const PARTIAL = '.partial-';

/** Backups as files in `dir` (0700; files 0600). Unfinished writes carry a `.partial-` name and are removed on failure. */
export function createLocalBackupStore(dir: string): BackupStore {
  const root = path.resolve(dir);
  const full = (name: string) => path.join(root, name);
  const ensure = () => mkdir(root, { recursive: true, mode: 0o700 });
  return {
    location: root,
    describe: full,
    async upload(name, body) {
      await ensure();
      const temp = full(`${PARTIAL}${randomBytes(4).toString('hex')}-${name}`);
      const file = await open(temp, 'wx', 0o600);
      try {
        // flush: fsync before close, so a crash after publishing never leaves a short file.
        await pipeline(body, file.createWriteStream({ highWaterMark: 1024 * 1024, flush: true }));
      } catch (error) {
        await file.close().catch(() => undefined);
        await unlink(temp).catch(() => undefined);
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOSPC') throw new BackupError('failed', `no space left on the device writing ${temp}; the partial file was removed`);
        if (code === 'EDQUOT') throw new BackupError('failed', `disk quota exceeded writing ${temp}; the partial file was removed`);
        throw error;
      }
      return {
        read: async () => createReadStream(temp),
        publish: () => rename(temp, full(name)),
        discard: () => unlink(temp).catch(() => undefined),
      };
    },
    async read(name) {
      const stream = createReadStream(full(name));
      await new Promise<void>((resolve, reject) => {
        stream.once('open', () => resolve());
        stream.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'ENOENT' ? new BackupError('bad_input', `${full(name)} does not exist`) : error));
      });
      return stream as Readable;
    },
    async readText(name) {
      return readFile(full(name), 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      });
    },
    async writeText(name, text) {
      await ensure();
      const temp = full(`${PARTIAL}${randomBytes(4).toString('hex')}-${name}`);
      try {
        await writeFile(temp, text, { mode: 0o600, flush: true });
        await rename(temp, full(name));
      } catch (error) {
        await unlink(temp).catch(() => undefined);
        throw error;
      }
    },
    async names() {
      const entries = await readdir(root).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return [] as string[];
        throw error;
      });
      return entries.filter((name) => !name.startsWith(PARTIAL));
    },
    async remove(name) {
      await unlink(full(name)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    },
  };
}
