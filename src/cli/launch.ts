#!/usr/bin/env node
// The `rampart` entry: starts what can run while the rest of Rampart is still being loaded,
// then loads the CLI. Keep its imports few and light; everything else waits for main.js.
import { startEarlySeed } from '../platform/db/early-seed.js';

startEarlySeed(process.argv.slice(2), process.env);
await import('./main.js');
