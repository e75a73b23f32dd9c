import { existsSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { copyToScratch } from './template-copy.js';
import { migratedTemplateDir, pgliteDir, pgliteTemplateDir } from './template-paths.js';

/**
 * A first embedded start copies a template cluster (~1,000 files, 0.1–0.8 s depending on the
 * disk) before PostgreSQL can open it. The launcher starts that copy before the rest of
 * Rampart is loaded, so libuv's threads copy while the main thread compiles; the database
 * code then claims the copy instead of making its own. It is a guess made from the
 * environment alone: whatever the configuration decides, an unclaimed or mismatched copy is
 * removed and the normal path runs.
 */
interface EarlySeed {
  clusterDir: string;
  template: string;
  /** The scratch folder holding the copy; undefined when the copy failed. */
  copy: Promise<string | undefined>;
}

let pending: EarlySeed | undefined;

// Commands that open the database on start.
const DATABASE_COMMANDS = new Set(['serve', 'worker']);

/** Whether `rampart <args>` will open the embedded database, judged from the environment alone. */
export function opensEmbeddedDatabase(args: readonly string[], env: NodeJS.ProcessEnv): boolean {
  return DATABASE_COMMANDS.has(args[0] ?? '') && !env.DATABASE_URL;
}

export interface EarlySeedOptions {
  /** The data directory when RAMPART_DATA_DIR is unset (the configuration's default, which the caller knows). */
  defaultDataDir?: string;
  /** Templates to try, first existing wins (default: the migrated one, then the pristine one). */
  templates?: () => string[];
}

/** Starts copying a template for `rampart <args>` when that will open an embedded database that does not exist yet. */
export function startEarlySeed(args: readonly string[], env: NodeJS.ProcessEnv, options: EarlySeedOptions = {}): void {
  if (pending || !opensEmbeddedDatabase(args, env) || (env.RAMPART_ENV ?? 'development') !== 'development') return;
  try {
    const dataDir = env.RAMPART_DATA_DIR || options.defaultDataDir;
    if (dataDir === undefined) return;
    const clusterDir = path.resolve(pgliteDir(dataDir));
    if (existsSync(clusterDir)) return;
    const template = (options.templates ?? (() => [migratedTemplateDir(), pgliteTemplateDir()]))().find((dir) => existsSync(dir));
    if (template === undefined) return;
    let scratch: string | undefined;
    const copy = copyToScratch(template, clusterDir).then(
      (dir) => (scratch = dir),
      () => undefined,
    );
    pending = { clusterDir, template, copy };
    // Never claimed (a configuration error, another command path): leave no 40 MB folder behind.
    process.once('exit', () => {
      if (pending?.copy === copy && scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
    });
  } catch {
    // Only a head start: the normal path reports any real problem.
  }
}

/**
 * The early copy for `clusterDir`, if there is one: a scratch folder holding `template`, now
 * the caller's to rename or remove. Any other early copy is removed.
 */
export async function claimEarlySeed(clusterDir: string, template: string): Promise<string | undefined> {
  const seed = pending;
  if (!seed || seed.clusterDir !== path.resolve(clusterDir)) return undefined;
  pending = undefined;
  const scratch = await seed.copy;
  if (scratch !== undefined && seed.template === path.resolve(template)) return scratch;
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  return undefined;
}
