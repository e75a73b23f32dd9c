// Time from spawning `rampart serve --with-worker` until /health and
// /readiness both answer 200: once on an empty data dir (creates the embedded
// database) and once more on the same dir (what every restart costs).
// Usable alone (`node bench/startup.mjs`) or from run.mjs.
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import {
  RAMPART_CLI,
  freePort,
  httpGet,
  installCleanup,
  makeTempDir,
  median,
  removeTempDir,
  sleep,
  spawnServer,
  stopServer,
} from './lib.mjs';

export const STARTUP_TARGET_MS = 3000;
const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 3);
const START_TIMEOUT_MS = 30_000;

async function timeOneStart(dataDir) {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const t0 = performance.now();
  const child = spawnServer([RAMPART_CLI, 'serve', '--with-worker'], {
    PORT: String(port),
    METRICS_PORT: String(metricsPort),
    RAMPART_DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
  });
  try {
    // The probes may live on the public or the internal port; either counts.
    const pending = new Set(['/health', '/readiness']);
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (pending.size > 0) {
      if (child.exited) throw new Error('rampart exited before becoming ready');
      if (Date.now() > deadline) throw new Error(`not ready within ${START_TIMEOUT_MS} ms (waiting for ${[...pending].join(', ')})`);
      for (const p of [...pending]) {
        for (const base of [`http://127.0.0.1:${port}`, `http://127.0.0.1:${metricsPort}`]) {
          const res = await httpGet(base + p, 500);
          if (res?.status === 200) {
            pending.delete(p);
            break;
          }
        }
      }
      if (pending.size > 0) await sleep(20);
    }
    return performance.now() - t0;
  } finally {
    // The next start reuses this data dir, so the database must be closed
    // cleanly first: a generous grace before SIGKILL.
    await stopServer(child, 15_000);
  }
}

/** @returns {Promise<object>} summary, also suitable for the results JSON */
export async function runStartupBench({ log = console.log } = {}) {
  if (!fs.existsSync(RAMPART_CLI)) {
    const reason = `${RAMPART_CLI} not found (run \`npm run build\`)`;
    log(`startup: skipped — ${reason}`);
    return { status: 'skipped', reason };
  }
  installCleanup();
  const cold = [];
  const warm = [];
  const failures = [];
  for (let i = 0; i < RUNS; i++) {
    const dir = makeTempDir('rampart-startup-');
    try {
      const c = await timeOneStart(dir);
      cold.push(c);
      const w = await timeOneStart(dir);
      warm.push(w);
      log(`startup run ${i + 1}/${RUNS}: first start ${c.toFixed(0)} ms, second start ${w.toFixed(0)} ms`);
    } catch (err) {
      failures.push(String(err.message ?? err));
      log(`startup run ${i + 1}/${RUNS}: failed — ${err.message ?? err}`);
    } finally {
      removeTempDir(dir);
    }
  }
  const result = {
    status: cold.length > 0 ? 'ok' : 'failed',
    command: 'node dist/rampart.mjs serve --with-worker',
    targetMs: STARTUP_TARGET_MS,
    runs: { firstStartMs: cold, secondStartMs: warm },
    median: { firstStartMs: median(cold), secondStartMs: median(warm) },
    failures,
  };
  const worst = Math.max(result.median.firstStartMs ?? Infinity, result.median.secondStartMs ?? Infinity);
  result.pass = failures.length === 0 && worst < STARTUP_TARGET_MS;
  if (result.status === 'ok') {
    log(
      `startup median: first start ${result.median.firstStartMs.toFixed(0)} ms, ` +
        `second start ${result.median.secondStartMs?.toFixed(0) ?? 'n/a'} ms ` +
        `(target < ${STARTUP_TARGET_MS} ms: ${result.pass ? 'PASS' : 'FAIL'})`,
    );
  }
  return result;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === fs.realpathSync(process.argv[1])) {
  installCleanup();
  const r = await runStartupBench();
  process.exitCode = r.status === 'failed' ? 1 : 0;
}
