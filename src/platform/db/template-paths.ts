import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { packageRoot } from '../../package-info.js';

// Where embedded clusters and their templates live. Kept free of PGlite and Kysely so the
// launcher can find them before the rest of Rampart is loaded (see early-seed.ts).

export const PGLITE_VERSION: string = (
  JSON.parse(readFileSync(path.join(path.dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite')), '..', 'package.json'), 'utf8')) as { version: string }
).version;

/** The package's `migrations/` folder (found from `src/` and from the compiled `dist/src/` alike). */
export function migrationsDir(): string {
  return path.join(packageRoot, 'migrations');
}

/** Where the embedded database lives inside the data directory. */
export function pgliteDir(dataDir: string): string {
  return path.join(dataDir, 'pglite');
}

// Bumped when what a template holds changes (2: no template0 database; 3: nor template1), so
// an installed cache of the older kind is rebuilt rather than reused.
const TEMPLATE_LAYOUT = 3;

/** The pristine cluster; the version in the name keeps a newer PGlite from opening an older one. */
export function pgliteTemplateDir(): string {
  return path.join(packageRoot, 'node_modules', '.cache', 'rampart', `pglite-template-${PGLITE_VERSION}-l${TEMPLATE_LAYOUT}`);
}

/**
 * Where the migrated template for the shipped migrations lives (it may not exist). Its name
 * holds the PGlite version and a digest of the migration files, so a changed or added
 * migration never meets a stale copy.
 */
export function migratedTemplateDir(dir = migrationsDir()): string {
  const digest = createHash('sha256');
  for (const file of readdirSync(dir).sort()) digest.update(file).update('\0').update(readFileSync(path.join(dir, file))).update('\0');
  return path.join(path.dirname(pgliteTemplateDir()), `pglite-migrated-${PGLITE_VERSION}-l${TEMPLATE_LAYOUT}-${digest.digest('hex').slice(0, 16)}`);
}
