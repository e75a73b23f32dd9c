// Authentication costs: a token-protected JSON route against the same route without auth
// (one interleaved run), and a login storm while a health route is probed. See bench/README.md.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { ROOT, installCleanup, median, sleep, startRampartServer, stopAll } from './lib.mjs';
import { busyMachineNote, fmt, interleave, mdTable, measure, medianOf, positiveNumber, ratioOf, table, percentile } from './measure.mjs';

const DURATION_S = positiveNumber('BENCH_DURATION_S', 5);
const ROUNDS = positiveNumber('BENCH_ROUNDS', 3);
const STORM_S = positiveNumber('BENCH_STORM_S', 10);
const STORM_CONNECTIONS = positiveNumber('BENCH_STORM_CONNECTIONS', 16);
const CONNECTIONS = 50;
const EMAIL = 'bench@example.com';
const PASSWORD = 'correct horse battery staple 42';
const TOKEN_TARGET = 0.85;
const HEALTH_P99_TARGET_MS = 50;

async function postJson(base, route, body) {
  const res = await fetch(base + route, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${route} answered ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

/** Sequential GETs every `intervalMs` on their own keep-alive socket; latency of each in ms. */
async function probe(url, untilMs, intervalMs = 10) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const latencies = [];
  let failures = 0;
  while (Date.now() < untilMs) {
    const t0 = performance.now();
    const status = await new Promise((resolve) => {
      const req = http.get(url, { agent, timeout: 5_000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => resolve(0));
    });
    latencies.push(performance.now() - t0);
    if (status !== 200) failures++;
    await sleep(intervalMs);
  }
  agent.destroy();
  return { latencies, failures };
}

async function main() {
  installCleanup();
  const startedAt = new Date();
  const notes = [];
  console.log(`Rampart auth bench — ${os.cpus().length} CPU(s), Node ${process.version}`);
  const { note } = await busyMachineNote();
  if (note) notes.push(note);

  // Limits and throttles off: this measures authentication, not the limiter.
  const server = await startRampartServer({ plugin: 'bench/peers/rampart-auth-route.mjs', env: { RATE_LIMIT_ENABLED: 'false' } });
  if (!server.ok) throw new Error(`rampart did not start: ${server.reason}`);
  await postJson(server.base, '/v1/auth/signup', { email: EMAIL, password: PASSWORD });
  const { access_token: token } = await postJson(server.base, '/v1/auth/login', { email: EMAIL, password: PASSWORD });

  console.log('\n1. token-protected route vs the same route open');
  const pids = [server.child.pid];
  const peers = [
    { key: 'open', child: server.child, measure: () => measure({ url: `${server.base}/bench/json` }, { durationS: DURATION_S, connections: CONNECTIONS, pids }) },
    { key: 'auth', child: server.child, measure: () => measure({ url: `${server.base}/bench/protected`, headers: { authorization: `Bearer ${token}` } }, { durationS: DURATION_S, connections: CONNECTIONS, pids }) },
  ];
  const rounds = await interleave(peers, ROUNDS);
  const ratio = ratioOf(rounds, 'auth', 'open');
  const open = medianOf(rounds, 'open');
  const auth = medianOf(rounds, 'auth');
  const routeRows = [
    ['GET /bench/json (no auth)', fmt.rps(open.rps), fmt.ms(open.p50), fmt.ms(open.p99), open.non2xx + open.errors],
    ['GET /bench/protected (Bearer JWT)', fmt.rps(auth.rps), fmt.ms(auth.p50), fmt.ms(auth.p99), auth.non2xx + auth.errors],
  ];
  const routeHeaders = ['route', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx'];
  console.log(table(routeHeaders, routeRows));
  const tokenVerdict = ratio.median == null ? 'n/a' : ratio.median >= TOKEN_TARGET ? 'PASS' : 'FAIL';
  console.log(`auth/open = ${fmt.ratio(ratio.median)} (per round ${ratio.perRound.map(fmt.ratio).join(' ')}); target ≥ ${TOKEN_TARGET}: ${tokenVerdict}`);

  console.log(`\n2. login storm: ${STORM_CONNECTIONS} connections posting /v1/auth/login for ${STORM_S}s, GET /health probed every 10 ms`);
  const quiet = await probe(`${server.base}/health`, Date.now() + 3_000);
  const stormEnd = Date.now() + STORM_S * 1000;
  const [storm, loud] = await Promise.all([
    autocannon({
      url: `${server.base}/v1/auth/login`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
      connections: STORM_CONNECTIONS,
      duration: STORM_S,
    }),
    probe(`${server.base}/health`, stormEnd),
  ]);
  const loginsPerS = storm['2xx'] / storm.duration;
  const p99 = percentile(loud.latencies, 99);
  const stormRows = [
    ['before the storm', quiet.latencies.length, fmt.ms(median(quiet.latencies)), fmt.ms(percentile(quiet.latencies, 99)), quiet.failures],
    ['during the storm', loud.latencies.length, fmt.ms(median(loud.latencies)), fmt.ms(p99), loud.failures],
  ];
  const stormHeaders = ['GET /health', 'probes', 'p50 ms', 'p99 ms', 'failures'];
  console.log(table(stormHeaders, stormRows));
  const stormVerdict = p99 == null ? 'n/a' : p99 < HEALTH_P99_TARGET_MS && loud.failures === 0 ? 'PASS' : 'FAIL';
  console.log(`logins: ${fmt.rps(loginsPerS)}/s (${storm['2xx']} ok, ${storm.non2xx} non-2xx, p50 ${storm.latency.p50} ms); health p99 ${fmt.ms(p99)} ms, target < ${HEALTH_P99_TARGET_MS} ms: ${stormVerdict}`);
  for (const n of notes) console.log(`NOTE: ${n}`);

  const dir = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'auth-latest.md'), [
    `# Rampart auth bench — ${startedAt.toISOString()}`,
    '',
    `Node ${process.version}, ${os.cpus().length} CPU(s), embedded PGlite, rate limits off. Argon2id at the default cost (19456 KiB, t=2, p=1).`,
    '',
    `## Token-protected route (autocannon ${CONNECTIONS} connections, ${DURATION_S}s × ${ROUNDS} rounds, interleaved)`,
    '',
    mdTable(routeHeaders, routeRows),
    '',
    `auth/open = **${fmt.ratio(ratio.median)}** (per round ${ratio.perRound.map(fmt.ratio).join(' ')}); target ≥ ${TOKEN_TARGET}: **${tokenVerdict}**`,
    '',
    `## Login storm (${STORM_CONNECTIONS} connections, ${STORM_S}s)`,
    '',
    mdTable(stormHeaders, stormRows),
    '',
    `Logins: **${fmt.rps(loginsPerS)}/s** (${storm['2xx']} succeeded, ${storm.non2xx} non-2xx). Health p99 during the storm **${fmt.ms(p99)} ms**; target < ${HEALTH_P99_TARGET_MS} ms: **${stormVerdict}**`,
    '',
    ...(notes.length ? ['## Notes', '', ...notes.map((n) => `- ${n}`), ''] : []),
  ].join('\n'));
  console.log('\nwrote bench/results/auth-latest.md');
}

try {
  await main();
} finally {
  await stopAll();
}
