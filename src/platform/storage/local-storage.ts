import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, constants, mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertObjectKey, isObjectKey, ObjectNotFound, type ObjectStorage, type StoredObject } from './object-storage.js';

// Larger buffers turn many socket-sized chunks into fewer, larger writes (writev); per upload
// this bounds the bytes held in memory at about 2 MiB.
const WRITE_BUFFER_BYTES = 1024 * 1024;

/**
 * Objects as files under `root` (`RAMPART_DATA_DIR/objects`). A put writes a temp file in
 * `root/.incoming` and renames it into place once complete, so a reader never sees half an
 * object and a failed upload leaves nothing behind.
 */
export function createLocalStorage(root: string): ObjectStorage {
  const incoming = join(root, '.incoming');
  const pathOf = (key: string) => {
    assertObjectKey(key);
    return join(root, ...key.split('/'));
  };
  let ready: Promise<void> | undefined;
  const ensureRoot = () => (ready ??= mkdir(incoming, { recursive: true, mode: 0o700 }).then(() => undefined));

  return {
    driver: 'local',
    async put(key, body) {
      const target = pathOf(key);
      await ensureRoot();
      await mkdir(dirname(target), { recursive: true, mode: 0o700 });
      const temp = join(incoming, `${randomUUID()}.part`);
      let sizeBytes = 0;
      const count = new Transform({
        highWaterMark: WRITE_BUFFER_BYTES,
        transform(chunk: Buffer, _encoding, done) {
          sizeBytes += chunk.length;
          done(null, chunk);
        },
      });
      // Created before any byte flows: a stream that opened its file lazily could create it
      // after a failed upload had already removed it, leaving a stray temp file behind.
      const file = await open(temp, 'wx', 0o600);
      try {
        // flush: fsync before close, so a crash after the rename never leaves an empty object.
        await pipeline(body, count, file.createWriteStream({ highWaterMark: WRITE_BUFFER_BYTES, flush: true }));
        await rename(temp, target);
      } catch (error) {
        await file.close().catch(() => undefined);
        await unlink(temp).catch(() => undefined);
        throw error;
      }
      return { sizeBytes };
    },
    async get(key) {
      const path = pathOf(key);
      const stream = createReadStream(path);
      // Surface a missing file here, as ObjectNotFound, rather than as a stream error mid-response.
      await new Promise<void>((resolve, reject) => {
        stream.once('open', () => resolve());
        stream.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'ENOENT' ? new ObjectNotFound(key) : error));
      });
      return stream as Readable;
    },
    async delete(key) {
      await unlink(pathOf(key)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    },
    async *list(): AsyncIterable<StoredObject> {
      for (const entry of await orNoneIfMissing(readdir(root, { recursive: true, withFileTypes: true }))) {
        if (!entry.isFile()) continue;
        const path = join(entry.parentPath ?? entry.path, entry.name);
        // Half-written puts in .incoming are not objects (and their names are not keys).
        const key = relative(root, path).split(sep).join('/');
        if (!isObjectKey(key)) continue;
        const info = await stat(path).catch(() => undefined);
        if (info) yield { key, lastModified: info.mtime };
      }
    },
    async removeAbandonedWrites(olderThan) {
      // Every temp file here is one of our puts (their names are random, not keys); a live put
      // is younger than any sensible cut-off.
      let removed = 0;
      for (const name of await orNoneIfMissing(readdir(incoming))) {
        if (!name.endsWith('.part')) continue;
        const path = join(incoming, name);
        const info = await stat(path).catch(() => undefined);
        if (!info || info.mtime >= olderThan) continue;
        await unlink(path).catch(() => undefined);
        removed++;
      }
      return removed;
    },
    async check() {
      try {
        await ensureRoot();
        await access(root, constants.W_OK);
        return { configured: true, ok: true, details: 'ok:local' };
      } catch (error) {
        return { configured: true, ok: false, details: `error: ${(error as NodeJS.ErrnoException).code ?? 'not writable'}` };
      }
    },
  };
}

/** A directory listing, or none when the directory does not exist yet (nothing stored so far). */
async function orNoneIfMissing<T>(listing: Promise<T[]>): Promise<T[]> {
  return listing.catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
}
