// Shared by the Rampart plugin and the BullMQ worker so that both pay the same, tiny cost to
// report when a job's handler started: one string append per job, written out every 20 ms.
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';

const file = process.env.BENCH_JOBS_RECORD;
if (!file) throw new Error('BENCH_JOBS_RECORD must name the file this worker appends pick-ups to');

let pending = '';

/**
 * Appends `phase<TAB>enqueuedAt<TAB>startedAt` (epoch ms with µs decimals). The harness stamps
 * `payload.at` the same way just before it enqueues, so the difference is enqueue → handler start.
 */
export function recordPickup(payload) {
  pending += `${payload.phase}\t${payload.at}\t${(performance.timeOrigin + performance.now()).toFixed(3)}\n`;
}

function flush() {
  if (pending === '') return;
  fs.appendFileSync(file, pending);
  pending = '';
}

setInterval(flush, 20).unref();
process.on('exit', flush);
