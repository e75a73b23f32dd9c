import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { directoryDrift, DirectoryNotReplaceable, MARKER, replaceDirectory } from './generated-directory.js';

describe('generated directory', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'rampart-gen-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('replaces a directory it generated as a whole, leaving nothing beside it', async () => {
    const out = join(root, 'slo');
    await replaceDirectory(out, new Map([['a.yml', 'one'], ['old.yml', 'gone soon']]));
    await replaceDirectory(out, new Map([['a.yml', 'two']]));
    expect((await readdir(out)).sort()).toEqual([MARKER, 'a.yml']);
    expect(await readFile(join(out, 'a.yml'), 'utf8')).toBe('two');
    expect(await readdir(root)).toEqual(['slo']);
    expect(await directoryDrift(out, new Map([['a.yml', 'two']]))).toEqual([]);
    expect(await directoryDrift(out, new Map([['a.yml', 'three'], ['b.yml', 'x']]))).toEqual(['a.yml (differs)', 'b.yml (missing)']);
  });

  it('leaves the old directory untouched when writing fails part-way', async () => {
    const out = join(root, 'slo');
    await replaceDirectory(out, new Map([['a.yml', 'old']]));
    // The second file cannot be written (its folder does not exist): the first already was.
    await expect(replaceDirectory(out, new Map([['a.yml', 'new'], ['missing/b.yml', 'new']]))).rejects.toThrow(/ENOENT/);
    expect(await readFile(join(out, 'a.yml'), 'utf8')).toBe('old');
    expect(await readdir(root)).toEqual(['slo']);
  });

  it('refuses to replace a directory it did not write', async () => {
    const out = join(root, 'prometheus');
    await mkdir(out);
    await writeFile(join(out, 'alerts.rules.yml'), 'hand-written');
    await expect(replaceDirectory(out, new Map([['a.yml', 'x']]))).rejects.toThrow(DirectoryNotReplaceable);
    expect(await readdir(out)).toEqual(['alerts.rules.yml']);
  });
});
