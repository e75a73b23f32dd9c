// `npm run bench`: every suite in turn, each in its own process (BENCH_SUITES=http,auth,ratelimit,jobs,upload,search,backup,tracing,pitr by default).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './lib.mjs';

const SUITES = { http: 'run.mjs', auth: 'auth.mjs', ratelimit: 'ratelimit.mjs', jobs: 'jobs.mjs', upload: 'upload.mjs', search: 'search.mjs', backup: 'backup.mjs', tracing: 'tracing.mjs', pitr: 'pitr.mjs' };
const selected = (process.env.BENCH_SUITES ?? Object.keys(SUITES).join(',')).split(',').map((s) => s.trim()).filter(Boolean);
let failed = 0;
for (const name of selected) {
  const file = SUITES[name];
  if (!file) throw new Error(`unknown bench suite "${name}"; known: ${Object.keys(SUITES).join(', ')}`);
  console.log(`\n=== bench suite: ${name} ===`);
  const { status } = spawnSync(process.execPath, [path.join(ROOT, 'bench', file)], { stdio: 'inherit', cwd: ROOT });
  if (status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
