import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLocalStorage } from './local-storage.js';
import { ObjectNotFound, type ObjectStorage } from './object-storage.js';

const readAll = async (stream: Readable) => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

/** Every file under `dir`, relative, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();
}

describe('local object storage', () => {
  let dir: string;
  let storage: ObjectStorage;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rampart-objects-'));
    storage = createLocalStorage(join(dir, 'objects'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('stores a stream under its key and gives the same bytes back', async () => {
    const bytes = Buffer.from('quarterly zebra report');
    expect(await storage.put('tenant-a/doc-1', Readable.from([bytes]))).toEqual({ sizeBytes: bytes.length });
    expect((await readAll(await storage.get('tenant-a/doc-1'))).equals(bytes)).toBe(true);
    expect(await filesUnder(dir)).toEqual(['objects/tenant-a/doc-1']);
  });

  it('leaves nothing behind, not even a temp file, when the source fails part-way', async () => {
    const failing = Readable.from((async function* () {
      yield Buffer.alloc(100_000, 1);
      throw new Error('client went away');
    })());
    await expect(storage.put('tenant-a/broken', failing)).rejects.toThrow('client went away');
    expect(await filesUnder(dir)).toEqual([]);
    await expect(storage.get('tenant-a/broken')).rejects.toBeInstanceOf(ObjectNotFound);
  });

  it('leaves no temp file when the source fails before its first byte (the file is created before the stream starts)', async () => {
    for (let i = 0; i < 20; i++) {
      const failing = new Readable({ read() { this.destroy(new Error('refused')); } });
      await expect(storage.put(`tenant-a/early-${i}`, failing)).rejects.toThrow('refused');
    }
    expect(await filesUnder(dir)).toEqual([]);
  });

  it('refuses keys that could name a path outside the store', async () => {
    for (const key of ['../escape', 'a/../../b', '/abs', 'a//b', '.hidden', 'a/.', 'a\\b']) {
      await expect(storage.put(key, Readable.from([Buffer.from('x')]))).rejects.toThrow(/invalid object key/);
    }
    expect(await filesUnder(dir)).toEqual([]);
  });

  it('deletes idempotently and reports a missing object as ObjectNotFound', async () => {
    await storage.put('t/d', Readable.from([Buffer.from('x')]));
    await storage.delete('t/d');
    await storage.delete('t/d');
    await expect(storage.get('t/d')).rejects.toBeInstanceOf(ObjectNotFound);
  });

  it('readiness: ok:local when the directory is writable', async () => {
    expect(await storage.check()).toEqual({ configured: true, ok: true, details: 'ok:local' });
  });
});
