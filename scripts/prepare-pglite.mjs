// Run by `npm install` (prepare): builds the embedded-database templates once, so the first
// `npm start` copies a cluster (migrations applied) instead of initialising and migrating one,
// and every test data dir starts from a pristine copy (seconds saved each).
import { ensurePGliteTemplate } from '../dist/src/platform/db/pglite-template.js';
import { ensureMigratedTemplate } from '../dist/src/platform/db/migrated-template.js';

const started = Date.now();
const pristine = await ensurePGliteTemplate();
const migrated = await ensureMigratedTemplate();
console.log(`rampart: embedded database templates ready (${pristine}, ${migrated}, ${Date.now() - started} ms)`);
