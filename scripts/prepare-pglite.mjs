// Run by `npm install` (prepare): builds the pristine embedded-database template once, so the
// first `npm start` copies a cluster instead of initialising one (seconds saved).
import { ensurePGliteTemplate } from '../dist/src/platform/db/pglite-template.js';

const started = Date.now();
const dir = await ensurePGliteTemplate();
console.log(`rampart: embedded database template ready (${dir}, ${Date.now() - started} ms)`);
