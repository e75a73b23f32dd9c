import { copyFile, cp, mkdir, mkdtemp, readdir } from 'node:fs/promises';
import path from 'node:path';

// A cluster is ~1,000 small files. fs.cp copies them one at a time with two lstat and a chmod
// each (~0.8 s, most of a first start); copying many at once on libuv's thread pool takes ~0.13 s.
const COPIES_IN_FLIGHT = 16;

/**
 * Copies `template` into a new scratch folder beside `clusterDir` and returns it; renaming it
 * into place is the caller's job (one rename, so nobody ever sees half a cluster).
 */
export async function copyToScratch(template: string, clusterDir: string): Promise<string> {
  await mkdir(path.dirname(clusterDir), { recursive: true });
  const scratch = await mkdtemp(`${clusterDir}-seeding-`);
  await copyTree(template, scratch);
  return scratch;
}

/** Copies a tree of plain files and folders into the existing, empty `to`. */
async function copyTree(from: string, to: string): Promise<void> {
  const entries = await readdir(from, { recursive: true, withFileTypes: true });
  // Anything else (a symlink, say) is left to fs.cp, which knows how to copy it.
  if (entries.some((entry) => !entry.isFile() && !entry.isDirectory())) return cp(from, to, { recursive: true });
  // Node 20.11 names the folder `path`; `parentPath` arrived in 20.12.
  const folderOf = (entry: (typeof entries)[number]) => (entry.parentPath as string | undefined) ?? (entry as unknown as { path: string }).path;
  const relative = (entry: (typeof entries)[number]) => path.relative(from, path.join(folderOf(entry), entry.name));
  // Parents sort before their children.
  for (const dir of entries.filter((entry) => entry.isDirectory()).map(relative).sort()) await mkdir(path.join(to, dir), { recursive: true });
  const files = entries.filter((entry) => entry.isFile()).map(relative);
  let next = 0;
  const copyNext = async (): Promise<void> => {
    while (next < files.length) {
      const file = files[next++]!;
      await copyFile(path.join(from, file), path.join(to, file));
    }
  };
  await Promise.all(Array.from({ length: COPIES_IN_FLIGHT }, copyNext));
}
