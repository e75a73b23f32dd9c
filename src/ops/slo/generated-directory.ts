import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * A directory that only a generator writes: replaced as a whole, never left half-written,
 * and never replacing a directory the generator did not make (it carries a marker file).
 */

export const MARKER = '.generated';
const MARKER_TEXT = 'Written by `rampart slo generate`, which replaces this whole directory on each run: change the SLO spec or the generator, not these files.\n';

export class DirectoryNotReplaceable extends Error {}

/**
 * Writes `files` into a new directory beside `dir`, then swaps it in with renames: a reader
 * (or a crash) sees the old directory or the new one, never a mix. A crash between the two
 * renames leaves the old one at `<dir>.old-*` beside it.
 */
export async function replaceDirectory(dir: string, files: ReadonlyMap<string, string>): Promise<void> {
  const existing = await listFiles(dir);
  if (existing && existing.length > 0 && !existing.includes(MARKER)) {
    throw new DirectoryNotReplaceable(`refusing to replace ${dir}: it was not written by rampart slo generate (no ${MARKER} file) and holds ${existing.slice(0, 3).join(', ')}${existing.length > 3 ? ', …' : ''}; give an empty or new directory`);
  }
  const parent = dirname(dir);
  await mkdir(parent, { recursive: true });
  const staging = await mkdtemp(join(parent, `.${basename(dir)}.new-`));
  try {
    await chmod(staging, 0o755);
    for (const [name, content] of withMarker(files)) await writeFile(join(staging, name), content);
    if (!existing) {
      await rename(staging, dir);
      return;
    }
    const old = `${join(parent, `.${basename(dir)}.old-`)}${process.pid}-${Date.now()}`;
    await rename(dir, old);
    await rename(staging, dir);
    await rm(old, { recursive: true, force: true });
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}

/** Files that differ from what would be written (changed, missing or extra); empty when in step. */
export async function directoryDrift(dir: string, files: ReadonlyMap<string, string>): Promise<string[]> {
  const existing = (await listFiles(dir)) ?? [];
  const drift: string[] = [];
  const expected = withMarker(files);
  for (const [name, content] of expected) {
    const current = existing.includes(name) ? await readFile(join(dir, name), 'utf8') : undefined;
    if (current === undefined) drift.push(`${name} (missing)`);
    else if (current !== content) drift.push(`${name} (differs)`);
  }
  for (const name of existing) if (!expected.has(name)) drift.push(`${name} (not generated)`);
  return drift;
}

async function listFiles(dir: string): Promise<string[] | undefined> {
  try {
    return (await readdir(dir, { withFileTypes: true })).map((e) => (e.isDirectory() ? `${e.name}/` : e.name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') throw new DirectoryNotReplaceable(`refusing to replace ${dir}: it is a file, not a directory`);
    throw err;
  }
}

const withMarker = (files: ReadonlyMap<string, string>) => new Map([[MARKER, MARKER_TEXT], ...files]);
