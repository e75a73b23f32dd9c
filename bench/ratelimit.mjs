// Rate-limit overhead: each stack's JSON route with its Redis-backed limiter on and off, in
// one interleaved run; plus Redis commands per request. See bench/README.md.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import autocannon from 'autocannon';
import { ROOT, installCleanup, startPeerServer, startRampartServer, stopAll } from './lib.mjs';
import { busyMachineNote, fmt, interleave, mdTable, measure, medianOf, positiveNumber, ratioOf, table } from './measure.mjs';

const DURATION_S = positiveNumber('BENCH_DURATION_S', 5);
const ROUNDS = positiveNumber('BENCH_ROUNDS', 3);
const CONNECTIONS = 50;
const ROUTE = '/bench/json';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `bench:${process.pid}:`;
const HUGE = '1000000000';
const COMMAND_SAMPLE = 2_000;
const TARGET = { ratio: 'r1/r0', min: 0.9, why: 'Rampart’s limited route keeps ≥ 90 % of the same route without limits' };

const PEERS = [
  { key: 'r0', label: 'Rampart, limits off', start: () => startRampartServer({ env: { REDIS_URL, RATE_LIMIT_ENABLED: 'false' } }) },
  {
    key: 'r1',
    label: 'Rampart, limits on (Redis)',
    limited: true,
    start: () => startRampartServer({ env: { REDIS_URL, REDIS_KEY_PREFIX: PREFIX, RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_GENERAL_PER_MIN: HUGE, RATE_LIMIT_GLOBAL_PER_5MIN: HUGE } }),
  },
  { key: 'f0', label: 'Fastify, no limiter', start: () => startPeerServer('fastify-rate-limit', { BENCH_LIMITS: 'off' }) },
  { key: 'f1', label: 'Fastify + @fastify/rate-limit (Redis)', limited: true, start: () => startPeerServer('fastify-rate-limit', { BENCH_LIMITS: 'on', BENCH_REDIS_URL: REDIS_URL, BENCH_REDIS_PREFIX: PREFIX }) },
  { key: 'x0', label: 'Express 5, no limiter', start: () => startPeerServer('express-rate-limit', { BENCH_LIMITS: 'off' }) },
  { key: 'x1', label: 'Express 5 + express-rate-limit + rate-limit-redis', limited: true, start: () => startPeerServer('express-rate-limit', { BENCH_LIMITS: 'on', BENCH_REDIS_URL: REDIS_URL, BENCH_REDIS_PREFIX: PREFIX }) },
];
const RATIOS = ['r1/r0', 'f1/f0', 'x1/x0', 'r1/f1', 'r1/x1'];

async function commandCalls(redis) {
  const info = await redis.info('commandstats');
  let calls = 0;
  for (const line of info.split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (m && m[1] !== 'info') calls += Number(m[2]);
  }
  return calls;
}

/** Redis commands per request: a fixed number of requests, the commandstats delta divided by it. */
async function commandsPerRequest(redis, url) {
  const before = await commandCalls(redis);
  await autocannon({ url, connections: 10, amount: COMMAND_SAMPLE });
  const after = await commandCalls(redis);
  // Our own INFO calls are excluded; anything else on the shared Redis would inflate the figure.
  return (after - before) / COMMAND_SAMPLE;
}

async function deletePrefix(redis) {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
}

async function main() {
  installCleanup();
  const startedAt = new Date();
  const notes = [];
  console.log(`Rampart rate-limit bench — ${os.cpus().length} CPU(s), Node ${process.version}, ${CONNECTIONS} connections, ${DURATION_S}s × ${ROUNDS} round(s), GET ${ROUTE}, Redis ${new URL(REDIS_URL).host}`);
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
  } catch (error) {
    console.log(`SKIPPED: Redis at ${new URL(REDIS_URL).host} unreachable (${error.message}); set BENCH_REDIS_URL`);
    redis.disconnect();
    return;
  }
  const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]) || undefined;
  const { note } = await busyMachineNote();
  if (note) notes.push(note);

  const started = {};
  for (const peer of PEERS) {
    const s = await peer.start();
    if (!s.ok) {
      console.log(`(${peer.key}) ${peer.label}: SKIPPED — ${s.reason}`);
      notes.push(`(${peer.key}) ${peer.label} did not start: ${s.reason}`);
      continue;
    }
    started[peer.key] = { ...s, url: s.base + ROUTE };
    console.log(`(${peer.key}) ${peer.label}: ready`);
  }

  const commands = {};
  for (const peer of PEERS.filter((p) => started[p.key])) commands[peer.key] = await commandsPerRequest(redis, started[peer.key].url);

  const active = PEERS.filter((p) => started[p.key]);
  const rounds = await interleave(
    active.map((p) => ({
      key: p.key,
      child: started[p.key].child,
      // Redis's CPU is part of what a Redis-backed limiter costs, so it is not "foreign" load.
      measure: () => measure({ url: started[p.key].url }, { durationS: DURATION_S, connections: CONNECTIONS, pids: [started[p.key].child.pid, ...(redisPid ? [redisPid] : [])] }),
    })),
    ROUNDS,
  );
  await deletePrefix(redis);
  redis.disconnect();

  const rows = active.map((p) => {
    const m = medianOf(rounds, p.key);
    return [`(${p.key}) ${p.label}`, fmt.rps(m?.rps), fmt.ms(m?.p50), fmt.ms(m?.p99), commands[p.key].toFixed(2), (m?.non2xx ?? 0) + (m?.errors ?? 0)];
  });
  const headers = ['peer', 'req/s', 'p50 ms', 'p99 ms', 'redis cmds/req', 'non-2xx'];
  console.log('\nmedian over rounds:');
  console.log(table(headers, rows));
  const ratios = Object.fromEntries(RATIOS.map((name) => [name, ratioOf(rounds, ...name.split('/'))]));
  const ratioRows = RATIOS.map((name) => {
    const r = ratios[name];
    const verdict = name === TARGET.ratio ? (r.median == null ? 'n/a' : `target ≥ ${TARGET.min}: ${r.median >= TARGET.min ? 'PASS' : 'FAIL'}`) : '';
    return [name, fmt.ratio(r.median), r.perRound.map(fmt.ratio).join(' '), verdict];
  });
  console.log('\nratios (req/s, per round then median):');
  console.log(table(['ratio', 'median', 'per round', ''], ratioRows));
  for (const n of notes) console.log(`NOTE: ${n}`);

  const dir = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const md = [
    `# Rampart rate-limit bench — ${startedAt.toISOString()}`,
    '',
    `Node ${process.version}, ${os.cpus().length} CPU(s), autocannon ${CONNECTIONS} connections, ${DURATION_S}s × ${ROUNDS} round(s) after 1 s warm-up, \`GET ${ROUTE}\`, real Redis. ` +
      'Limits are set so high that no request is refused: what is measured is the cost of checking. ' +
      `Redis commands per request: \`INFO commandstats\` before/after ${COMMAND_SAMPLE} requests.`,
    '',
    mdTable(headers, rows),
    '',
    '## Ratios (req/s; per round, then median)',
    '',
    mdTable(['ratio', 'median', 'per round', 'target'], ratioRows),
    '',
    ...(notes.length ? ['## Notes', '', ...notes.map((n) => `- ${n}`), ''] : []),
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'ratelimit-latest.md'), md);
  console.log('\nwrote bench/results/ratelimit-latest.md');
}

try {
  await main();
} finally {
  await stopAll();
}
