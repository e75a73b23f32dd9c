#!/usr/bin/env node
// The `rampart` entry: starts what can run while the rest of Rampart is still being loaded,
// then loads the CLI. Keep its imports few and light; everything else waits for main.js.
import { DEFAULT_DATA_DIR } from '../config/data-dir.js';
import { startCompilingPGlite } from '../platform/db/early-pglite.js';
import { opensEmbeddedDatabase, startEarlySeed } from '../platform/db/early-seed.js';

const args = process.argv.slice(2);
if (opensEmbeddedDatabase(args, process.env)) {
  startCompilingPGlite();
  startEarlySeed(args, process.env, { defaultDataDir: DEFAULT_DATA_DIR });
}
await import('./main.js');
