#!/usr/bin/env node
// The `rampart` entry: starts what can run while the rest of Rampart is still being loaded,
// then loads the CLI. Keep its imports few and light; everything else waits for main.js.
import { runEmbeddedDatabasesOn, startEarlyPGliteThread } from '../platform/db/pglite-thread-client.js';

// Defined by scripts/bundle.mjs, which builds the database thread's script beside this file.
declare const RAMPART_BUNDLE: boolean | undefined;

if (typeof RAMPART_BUNDLE !== 'undefined') {
  runEmbeddedDatabasesOn(new URL('./pglite-thread.mjs', import.meta.url));
  startEarlyPGliteThread(process.argv.slice(2), process.env);
}
await import('./main.js');
