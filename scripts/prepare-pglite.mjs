// Run by `npm install` (prepare): builds the embedded-database templates once, so the first
// `npm start` copies a cluster (migrations applied) instead of initialising and migrating one,
// and every test data dir starts from a pristine copy (seconds saved each).
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { ensurePGliteTemplate } from '../dist/src/platform/db/pglite-template.js';
import { ensureMigratedTemplate } from '../dist/src/platform/db/migrated-template.js';

const started = Date.now();
const pristine = await ensurePGliteTemplate();
const migrated = await ensureMigratedTemplate();
// Templates of an older PGlite, layout or migration set are never used again: ~40 MB each.
const cache = path.dirname(pristine);
const current = new Set([path.basename(pristine), path.basename(migrated)]);
for (const name of await readdir(cache)) {
  if (/^pglite-(template|migrated)-/.test(name) && !name.includes('-building-') && !current.has(name)) await rm(path.join(cache, name), { recursive: true, force: true });
}
console.log(`rampart: embedded database templates ready (${pristine}, ${migrated}, ${Date.now() - started} ms)`);
