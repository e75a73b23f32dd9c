// Background jobs: throughput of no-op jobs and their pick-up latency, Rampart's queue on
// PostgreSQL against BullMQ on Redis, with 1 and 2 worker processes each, in one interleaved
// run. See bench/README.md.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { RAMPART_CLI, ROOT, freePort, installCleanup, makeTempDir, median, removeTempDir, sleep, spawnServer, startPeerServer, stopAll, stopServer, waitFor200 } from './lib.mjs';
import { bullmqConnection } from './peers/common.mjs';
import { busyMachineNote, fmt, mdTable, positiveNumber, table } from './measure.mjs';

const ROUNDS = positiveNumber('BENCH_ROUNDS', 3);
const JOBS = positiveNumber('BENCH_JOBS', 5_000);
const CONCURRENCY = positiveNumber('BENCH_JOBS_CONCURRENCY', 16);
const RATE = positiveNumber('BENCH_JOBS_RATE', 200);
const LATENCY_S = positiveNumber('BENCH_JOBS_LATENCY_S', 3);
const WARMUP_JOBS = 200;
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const JOB_TYPE = 'bench.noop';
const RUN_ID = `${process.pid}-${randomBytes(3).toString('hex')}`;
const RUNS = [
  { key: 'r1', system: 'rampart', workers: 1 },
  { key: 'b1', system: 'bullmq', workers: 1 },
  { key: 'r2', system: 'rampart', workers: 2 },
  { key: 'b2', system: 'bullmq', workers: 2 },
];
const LABELS = { rampart: 'Rampart (PostgreSQL)', bullmq: 'BullMQ (Redis)' };

// Same clock as bench/peers/job-pickup.mjs: wall-clock epoch ms with sub-ms precision, comparable across processes.
const now = () => performance.timeOrigin + performance.now();

/** Reads the pick-up lines the worker processes append (`phase, enqueuedAt, startedAt`), incrementally. */
class PickupLog {
  constructor(files) {
    this.sources = files.map((file) => ({ file, offset: 0, rest: '' }));
    this.phases = new Map();
  }

  collect() {
    this.sources.forEach((source, worker) => {
      let size;
      try {
        size = fs.statSync(source.file).size;
      } catch {
        return; // nothing written yet
      }
      if (size <= source.offset) return;
      const buffer = Buffer.alloc(size - source.offset);
      const fd = fs.openSync(source.file, 'r');
      fs.readSync(fd, buffer, 0, buffer.length, source.offset);
      fs.closeSync(fd);
      source.offset = size;
      const lines = (source.rest + buffer.toString('utf8')).split('\n');
      source.rest = lines.pop();
      for (const line of lines) {
        const [phase, at, started] = line.split('\t');
        if (!this.phases.has(phase)) this.phases.set(phase, []);
        this.phases.get(phase).push({ at: Number(at), started: Number(started), worker });
      }
    });
  }

  /** Resolves with the phase's records once `count` arrived, or with what arrived by the deadline. */
  async wait(phase, count, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.collect();
      const records = this.phases.get(phase) ?? [];
      if (records.length >= count || Date.now() > deadline) return records;
      await sleep(25);
    }
  }
}

function percentile(sorted, q) {
  return sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

/** Rampart: a fresh database, `rampart migrate up`, then `rampart worker` processes with the bench plugin. */
async function openRampart(notes) {
  if (!fs.existsSync(RAMPART_CLI)) return { ok: false, reason: `${path.relative(ROOT, RAMPART_CLI)} not found (run \`npm run build\`)` };
  const admin = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3_000 });
  try {
    await admin.connect();
  } catch (error) {
    return { ok: false, reason: `PostgreSQL at ${new URL(PG_URL).host} unreachable (${error.message}); set BENCH_DATABASE_URL` };
  }
  const version = (await admin.query('show server_version')).rows[0].server_version;
  const name = `rampart_bench_jobs_${randomBytes(4).toString('hex')}`;
  // Identifiers cannot be bound parameters; the name is ours and escaped anyway.
  await admin.query(`create database ${admin.escapeIdentifier(name)}`);
  const dropDatabase = async () => {
    await admin.query(`drop database if exists ${admin.escapeIdentifier(name)} with (force)`);
    await admin.end();
  };
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  // Shared by migrate and every worker: development generates its secrets here once.
  const env = { DATABASE_URL: url.href, RAMPART_DATA_DIR: makeTempDir('rampart-bench-jobs-data-'), MIGRATE_ON_START: 'false', LOG_LEVEL: 'warn' };
  const migrated = spawnSync(process.execPath, [RAMPART_CLI, 'migrate', 'up'], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' });
  if (migrated.status !== 0) {
    await dropDatabase();
    return { ok: false, reason: `rampart migrate up failed: ${(migrated.stderr || migrated.stdout).trim().split('\n').slice(-3).join(' ')}` };
  }
  const queueModule = path.join(ROOT, 'dist', 'src', 'platform', 'queue', 'job-queue.js');
  const { createJobQueue, JOBS_CHANNEL, DEFAULT_MAX_ATTEMPTS } = await import(pathToFileURL(queueModule).href);
  const pool = new pg.Pool({ connectionString: url.href, max: 10 });
  // `drop database … with (force)` ends connections the pool may still hold idle.
  pool.on('error', () => {});
  const db = new Kysely({ dialect: new PostgresDialect({ pool }) });
  const jobQueue = createJobQueue();

  return {
    ok: true,
    describe: `PostgreSQL ${version} at ${url.host}, fresh database ${name}`,
    async start(workers, files, dir) {
      const logs = files.map((_, i) => path.join(dir, `rampart-worker-${i}.log`));
      const started = await Promise.all(
        files.map(async (file, i) => {
          const metricsPort = await freePort();
          const output = fs.openSync(logs[i], 'w');
          const child = spawnServer(
            [RAMPART_CLI, 'worker', '--plugin', path.join('bench', 'peers', 'rampart-jobs.mjs')],
            { ...env, WORKER_CONCURRENCY: String(CONCURRENCY), METRICS_PORT: String(metricsPort), BENCH_JOBS_RECORD: file },
            { output },
          );
          fs.closeSync(output);
          // The metrics port (and its /health) comes up after the job worker has started.
          const health = await waitFor200([`http://127.0.0.1:${metricsPort}/health`], { child, timeoutMs: 30_000 });
          return { child, health };
        }),
      );
      const children = started.map((s) => s.child);
      const failed = started.find((s) => !s.health.ok);
      if (failed) {
        await Promise.all(children.map((c) => stopServer(c)));
        throw new Error(`rampart worker did not start: ${failed.health.reason}`);
      }
      return {
        // One statement for all jobs, the rows `enqueue` writes, and one wake-up: visible to workers at commit.
        async enqueueBulk(phase, n) {
          const at = now();
          await db.transaction().execute(async (trx) => {
            await sql`
              insert into jobs (type, payload, priority, max_attempts, run_at)
              select ${JOB_TYPE}, jsonb_build_object('phase', ${phase}::text, 'at', ${at}::float8), 0, ${DEFAULT_MAX_ATTEMPTS}, now()
              from generate_series(1, ${n}::int)`.execute(trx);
            await sql`select pg_notify(${JOBS_CHANNEL}, ${JOB_TYPE})`.execute(trx);
          });
          const visibleAt = now();
          return { visibleAt, enqueueMs: visibleAt - at };
        },
        enqueueOne: (phase) => {
          const at = now();
          return jobQueue.enqueue(db, JOB_TYPE, { phase, at }).then(() => now() - at);
        },
        async stop() {
          await Promise.all(children.map((c) => stopServer(c)));
          await sql`truncate jobs`.execute(db);
          // Warnings and errors only (LOG_LEVEL=warn): e.g. a failed claim or a lost lease. Development
          // mode's "unsafe for production" warnings at start are expected.
          for (const log of logs) {
            const lines = fs.readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('{') && !l.includes('"msg":"unsafe for production'));
            if (lines.length) notes.push(`${workers} Rampart worker(s) logged ${lines.length} warning(s), first: ${lines[0].slice(0, 200)}`);
          }
        },
      };
    },
    async close() {
      await db.destroy();
      await dropDatabase();
    },
  };
}

/** BullMQ: a queue with a name of its own per measurement (obliterated after it), worker processes from bench/peers. */
async function openBullmq() {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    return { ok: false, reason: `Redis at ${new URL(REDIS_URL).host} unreachable (${error.message}); set BENCH_REDIS_URL` };
  }
  const version = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1];
  // What an acknowledged add survives depends on this, where Rampart's enqueue is a WAL commit.
  const appendonly = await redis.config('GET', 'appendonly').then(([, value]) => value).catch(() => 'unknown');
  const appendfsync = await redis.config('GET', 'appendfsync').then(([, value]) => value).catch(() => 'unknown');
  redis.disconnect();
  const bullmqVersion = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', 'bullmq', 'package.json'), 'utf8')).version;
  let blocks = 0;
  return {
    ok: true,
    describe: `BullMQ ${bullmqVersion}, Redis ${version} at ${new URL(REDIS_URL).host} (appendonly ${appendonly}${appendonly === 'yes' ? `, appendfsync ${appendfsync}` : ''}), default worker options`,
    async start(workers, files) {
      const name = `rampart-bench-jobs-${RUN_ID}-${++blocks}`;
      const queue = new Queue(name, { connection: bullmqConnection(REDIS_URL) });
      const discard = async () => {
        await queue.obliterate({ force: true });
        await queue.close();
      };
      const started = await Promise.all(
        files.map((file) => startPeerServer('bullmq-worker', { BENCH_REDIS_URL: REDIS_URL, BENCH_QUEUE: name, BENCH_CONCURRENCY: String(CONCURRENCY), BENCH_JOBS_RECORD: file })),
      );
      const children = started.filter((s) => s.ok).map((s) => s.child);
      const failed = started.find((s) => !s.ok);
      if (failed) {
        await Promise.all(children.map((c) => stopServer(c)));
        await discard();
        throw new Error(`bullmq worker did not start: ${failed.reason}`);
      }
      return {
        // addBulk is a pipeline, not a transaction: workers would start on the first jobs while the
        // rest are still being added. Paused, all N land first; resume makes them visible at once.
        async enqueueBulk(phase, n) {
          await queue.pause();
          const at = now();
          await queue.addBulk(Array.from({ length: n }, () => ({ name: 'noop', data: { phase, at } })));
          const visibleAt = now();
          await queue.resume();
          return { visibleAt, enqueueMs: visibleAt - at };
        },
        enqueueOne: (phase) => {
          const at = now();
          return queue.add('noop', { phase, at }).then(() => now() - at);
        },
        async stop() {
          await Promise.all(children.map((c) => stopServer(c)));
          await discard();
        },
      };
    },
    async close() {},
  };
}

/** One steady stream of single enqueues at RATE/s; enqueue → handler start for each. */
async function measureLatency(handle, log) {
  const n = Math.round(RATE * LATENCY_S);
  const interval = 1000 / RATE;
  const pending = [];
  const begin = now();
  for (let i = 0; i < n; i++) {
    const wait = begin + i * interval - now();
    if (wait >= 1) await sleep(wait);
    // Open loop: the next enqueue does not wait for this one, as with independent requests.
    pending.push(handle.enqueueOne('latency'));
  }
  // Issued, not acknowledged: the rate the producer kept, whatever the enqueues then waited for.
  const sentS = (now() - begin) / 1000;
  const enqueueMs = (await Promise.all(pending)).sort((x, y) => x - y);
  const records = await log.wait('latency', n, 15_000);
  const latencies = records.map((r) => r.started - r.at).sort((x, y) => x - y);
  return {
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    max: latencies.at(-1) ?? null,
    enqueueP50: percentile(enqueueMs, 0.5),
    enqueueP99: percentile(enqueueMs, 0.99),
    rate: n > 1 ? (n - 1) / sentS : null,
    picked: records.length,
    sent: n,
  };
}

/** JOBS jobs enqueued up front in bulk; timed from the moment workers can see them to the last handler start. */
async function measureThroughput(handle, log, workers) {
  const { visibleAt, enqueueMs } = await handle.enqueueBulk('throughput', JOBS);
  const records = await log.wait('throughput', JOBS, 120_000);
  const last = Math.max(...records.map((r) => r.started));
  const perWorker = Array.from({ length: workers }, (_, w) => records.filter((r) => r.worker === w).length);
  return { jobsPerS: records.length === JOBS ? JOBS / ((last - visibleAt) / 1000) : null, enqueueMs, picked: records.length, split: perWorker.map((c) => Math.round((100 * c) / records.length)).join('/') };
}

async function measureRun(system, run, notes) {
  const dir = makeTempDir('rampart-bench-jobs-');
  const files = Array.from({ length: run.workers }, (_, i) => path.join(dir, `pickups-${i}.tsv`));
  const log = new PickupLog(files);
  const handle = await system.start(run.workers, files, dir);
  try {
    // Warm-up: lets V8 optimise both sides' hot paths and the connections settle; discarded.
    await handle.enqueueBulk('warmup', WARMUP_JOBS);
    await log.wait('warmup', WARMUP_JOBS, 30_000);
    const latency = await measureLatency(handle, log);
    const throughput = await measureThroughput(handle, log, run.workers);
    await sleep(100);
    log.collect();
    for (const [phase, expected] of [['warmup', WARMUP_JOBS], ['latency', latency.sent], ['throughput', JOBS]]) {
      const got = log.phases.get(phase)?.length ?? 0;
      if (got !== expected) notes.push(`(${run.key}) ${phase}: ${got} handler runs for ${expected} jobs`);
    }
    return { latency, throughput };
  } finally {
    await handle.stop();
    removeTempDir(dir);
  }
}

function ratioRows(rounds, pairs, pick) {
  return pairs.map(([x, y, meaning]) => {
    const perRound = rounds.map((r) => (r[x] && r[y] && pick(r[x]) != null && pick(r[y]) ? pick(r[x]) / pick(r[y]) : null));
    return [`${x}/${y}`, fmt.ratio(median(perRound)), perRound.map(fmt.ratio).join(' '), meaning];
  });
}

async function main() {
  installCleanup();
  const startedAt = new Date();
  const notes = [];
  console.log(
    `Rampart jobs bench — ${os.cpus().length} CPU(s), Node ${process.version}, ${ROUNDS} round(s); concurrency ${CONCURRENCY} per worker process for both ` +
      `(WORKER_CONCURRENCY / BullMQ \`concurrency\`); throughput: ${JOBS.toLocaleString('en-US')} no-op jobs enqueued in bulk; ` +
      `latency: ${RATE} single enqueues/s for ${LATENCY_S} s`,
  );
  console.log('Rampart workers run with LOG_LEVEL=warn: at info every completed job writes a log line, which would dominate the cost of a no-op job.');
  const { note } = await busyMachineNote();
  if (note) notes.push(note);

  const systems = { rampart: await openRampart(notes), bullmq: await openBullmq() };
  for (const [key, s] of Object.entries(systems)) {
    if (s.ok) console.log(`${LABELS[key]}: ${s.describe}`);
    else {
      console.log(`${LABELS[key]}: SKIPPED — ${s.reason}`);
      notes.push(`${LABELS[key]} skipped: ${s.reason}`);
    }
  }
  const runs = RUNS.filter((r) => systems[r.system].ok);
  const label = (run) => `(${run.key}) ${LABELS[run.system]}, ${run.workers} worker${run.workers > 1 ? 's' : ''}`;

  const rounds = [];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? runs : [...runs].reverse();
      const round = {};
      process.stdout.write(`round ${r + 1}/${ROUNDS}:`);
      for (const run of order) {
        try {
          round[run.key] = await measureRun(systems[run.system], run, notes);
          const m = round[run.key];
          process.stdout.write(` ${run.key}=${fmt.rps(m.throughput.jobsPerS)}/s,p99 ${m.latency.p99?.toFixed(1) ?? 'n/a'}ms`);
        } catch (error) {
          round[run.key] = null;
          notes.push(`(${run.key}) round ${r + 1}: ${error.message}`);
          process.stdout.write(` ${run.key}=FAILED`);
        }
      }
      process.stdout.write('\n');
      rounds.push(round);
    }
  } finally {
    for (const s of Object.values(systems)) if (s.ok) await s.close();
  }

  const ms = (n) => (n == null ? 'n/a' : n.toFixed(1));
  const of = (key, pick) => median(rounds.map((r) => (r[key] ? pick(r[key]) : null)));
  const throughputHeaders = ['run', 'jobs/s', 'per round', 'bulk enqueue ms', 'split %'];
  const throughputRows = runs.map((run) => [
    label(run),
    fmt.rps(of(run.key, (m) => m.throughput.jobsPerS)),
    rounds.map((r) => fmt.rps(r[run.key]?.throughput.jobsPerS)).join(' '),
    ms(of(run.key, (m) => m.throughput.enqueueMs)),
    rounds.map((r) => r[run.key]?.throughput.split).filter(Boolean).at(-1) ?? 'n/a',
  ]);
  const latencyHeaders = ['run', 'p50 ms', 'p99 ms', 'max ms', 'p99 per round', 'enqueue call p50/p99 ms', 'sent/s'];
  const latencyRows = runs.map((run) => [
    label(run),
    ms(of(run.key, (m) => m.latency.p50)),
    ms(of(run.key, (m) => m.latency.p99)),
    ms(of(run.key, (m) => m.latency.max)),
    rounds.map((r) => ms(r[run.key]?.latency.p99)).join(' '),
    `${ms(of(run.key, (m) => m.latency.enqueueP50))}/${ms(of(run.key, (m) => m.latency.enqueueP99))}`,
    fmt.rps(of(run.key, (m) => m.latency.rate)),
  ]);
  const ratioHeaders = ['ratio', 'median', 'per round', 'meaning'];
  const throughputRatios = ratioRows(rounds, [['r1', 'b1', '> 1: Rampart drains faster'], ['r2', 'b2', '> 1: Rampart drains faster'], ['r2', 'r1', 'scaling to 2 processes'], ['b2', 'b1', 'scaling to 2 processes']], (m) => m.throughput.jobsPerS);
  const latencyRatios = [
    ...ratioRows(rounds, [['r1', 'b1', 'p50; < 1: Rampart picks up sooner'], ['r2', 'b2', 'p50; < 1: Rampart picks up sooner']], (m) => m.latency.p50),
    ...ratioRows(rounds, [['r1', 'b1', 'p99; < 1: Rampart picks up sooner'], ['r2', 'b2', 'p99; < 1: Rampart picks up sooner']], (m) => m.latency.p99),
  ];

  console.log(`\nthroughput, median over rounds (${JOBS.toLocaleString('en-US')} jobs enqueued up front; from visible to the last handler start):`);
  console.log(table(throughputHeaders, throughputRows));
  console.log('\nthroughput ratios (per round, then median):');
  console.log(table(ratioHeaders, throughputRatios));
  console.log(`\npick-up latency, enqueue call → handler start, median over rounds (${RATE}/s for ${LATENCY_S} s, one job per enqueue):`);
  console.log(table(latencyHeaders, latencyRows));
  console.log('\npick-up latency ratios Rampart/BullMQ (per round, then median):');
  console.log(table(ratioHeaders, latencyRatios));
  for (const n of notes) console.log(`NOTE: ${n}`);
  console.log(`\ntook ${Math.round((Date.now() - startedAt.getTime()) / 1000)} s`);

  const dir = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const md = [
    `# Rampart jobs bench — ${startedAt.toISOString()}`,
    '',
    `Node ${process.version}, ${os.cpus().length} CPU(s), ${ROUNDS} round(s), order alternating each round. ` +
      `${Object.values(systems).filter((s) => s.ok).map((s) => s.describe).join('; ')}. ` +
      `Both run a no-op handler that appends its start time to a file (flushed every 20 ms), ${CONCURRENCY} jobs at once per worker process, ` +
      `after a discarded warm-up of ${WARMUP_JOBS} jobs. Rampart workers run with \`LOG_LEVEL=warn\`: at info every completed job logs a line, ` +
      'which would dominate the cost of a no-op job.',
    '',
    `## Throughput (${JOBS.toLocaleString('en-US')} jobs enqueued up front)`,
    '',
    'Rampart: one multi-row insert + NOTIFY; BullMQ: `addBulk` on the paused queue, then `resume`. Timed from when the jobs became visible to the ' +
      'last handler start. `split %`: share of the jobs each worker process ran (last round).',
    '',
    mdTable(throughputHeaders, throughputRows),
    '',
    mdTable(ratioHeaders, throughputRatios),
    '',
    `## Pick-up latency (${RATE} single enqueues/s for ${LATENCY_S} s)`,
    '',
    'From just before the enqueue call (Rampart: `createJobQueue().enqueue(db, …)`; BullMQ: `queue.add`) to the handler start, so it includes the enqueue ' +
      'itself, whose own duration is shown apart (Rampart: an insert committed to the WAL; BullMQ: a Redis write, durable only as far as Redis persistence is configured).',
    '',
    mdTable(latencyHeaders, latencyRows),
    '',
    mdTable(ratioHeaders, latencyRatios),
    '',
    ...(notes.length ? ['## Notes', '', ...notes.map((n) => `- ${n}`), ''] : []),
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'jobs-latest.md'), md);
  console.log('wrote bench/results/jobs-latest.md');
}

try {
  await main();
} finally {
  await stopAll();
}
