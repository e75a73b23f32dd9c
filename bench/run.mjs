// HTTP overhead benchmark: Rampart against bare Fastify, a byte-floor Fastify,
// Fastify with official plugins and the Express stack. See bench/README.md.
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import {
  ROOT,
  httpGet,
  installCleanup,
  median,
  responseBytes,
  sleep,
  startPeerServer,
  startRampartServer,
  stopAll,
  stopServer,
  writeRawResults,
  writeSummary,
} from './lib.mjs';
import { FOREIGN_CPU_LIMIT, busyMachineNote, fmt, interleave, mdTable, measure, positiveNumber, ratioOf, requestsPerCpu, table } from './measure.mjs';
import { runStartupBench } from './startup.mjs';

const DURATION_S = positiveNumber('BENCH_DURATION_S', 5);
const ROUNDS = positiveNumber('BENCH_ROUNDS', 3);
const WARMUP_S = 1;
const CONNECTIONS = 50;
const PIPELINING = 1;
const ROUTE = '/bench/json';
const EXPECTED_BODY = { hello: 'world', items: [1, 2, 3] };

const TARGETS = [
  { ratio: 'c/b', min: 0.8, why: 'Rampart keeps ≥ 80 % of the byte floor' },
  { ratio: 'c/d', min: 1.5, why: 'Rampart ≥ 1.5 × Fastify + official plugins' },
];
const RATIOS = ['c/b', 'c/d', 'b/a', 'c/a', 'd/a', 'e/a'];

// Headers that are per-request, per-connection or framing: sending them is
// not part of the static cost the floor peer is meant to reproduce.
const DROP_HEADERS = new Set(['date', 'content-length', 'connection', 'keep-alive', 'transfer-encoding', 'x-correlation-id']);
const dropHeader = (name) => DROP_HEADERS.has(name) || name.startsWith('ratelimit');

// Used only when Rampart cannot start: helmet's defaults, the de-facto
// "usual security headers" of a Node API.
const FALLBACK_HEADERS = {
  'content-security-policy':
    "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self';script-src-attr 'none';style-src 'self' https: 'unsafe-inline';upgrade-insecure-requests",
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'SAMEORIGIN',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
};

const ALL_PEERS = [
  { key: 'a', name: 'fastify-bare', label: 'Fastify, no plugins' },
  { key: 'b', name: 'fastify-floor', label: 'Fastify + Rampart’s static headers (byte floor)' },
  { key: 'c', name: 'rampart', label: 'Rampart, all controls on, request logging' },
  { key: 'd', name: 'fastify-plugins', label: 'Fastify + helmet + under-pressure + logger + correlation id' },
  { key: 'e', name: 'express-stack', label: 'Express 5 + helmet + cors + pino-http' },
];
// BENCH_PEERS=b,c measures a subset (quick iterations); the default is all five.
const SELECTED = (process.env.BENCH_PEERS ?? 'a,b,c,d,e').split(',').map((k) => k.trim());
const PEERS = ALL_PEERS.filter((p) => SELECTED.includes(p.key));


async function startPeer(peer, env = {}) {
  const s = await launchPeer(peer, env);
  // A peer that is not usable must not keep a core busy during the others' runs.
  if (!s.ok && s.child) await stopServer(s.child);
  return s;
}

async function launchPeer(peer, env) {
  // (c) measures step 1's controls, FORCE_HTTPS (the redirect check and HSTS) included; the
  // limiter's cost has its own suite (bench/ratelimit.mjs), and at its default 60/min the bench
  // route would only measure 429s.
  const s = peer.key === 'c' ? await startRampartServer({ env: { RATE_LIMIT_ENABLED: 'false', FORCE_HTTPS: 'true' } }) : await startPeerServer(peer.name, env);
  if (!s.ok) return { ok: false, reason: s.reason };
  const { child, base } = s;
  // Health may come up before the route (e.g. on the metrics port), and a
  // peer that answers the wrong thing would make its figures meaningless.
  const url = base + ROUTE;
  let res = null;
  for (let i = 0; i < 50 && res?.status !== 200 && !child.exited; i++) {
    res = await httpGet(url);
    if (res?.status !== 200) await sleep(100);
  }
  if (res?.status !== 200) return { ok: false, child, reason: `GET ${ROUTE} answered ${res?.status ?? 'nothing'}` };
  const type = String(res.headers['content-type'] ?? '');
  let body;
  try {
    body = JSON.parse(res.body);
  } catch {
    body = undefined;
  }
  if (!type.startsWith('application/json') || !isDeepStrictEqual(body, EXPECTED_BODY)) {
    return { ok: false, child, reason: `GET ${ROUTE} returned ${type} ${res.body.slice(0, 80)}` };
  }
  return { ok: true, child, url, sample: res, responseBytes: responseBytes(res), headerCount: res.rawHeaders.length / 2 };
}

async function captureStaticHeaders(url) {
  const [r1, r2] = [await httpGet(url), await httpGet(url)];
  if (r1?.status !== 200 || r2?.status !== 200) return null;
  const out = {};
  for (const [name, value] of Object.entries(r1.headers)) {
    if (dropHeader(name)) continue;
    if (!isDeepStrictEqual(value, r2.headers[name])) continue;
    out[name] = value;
  }
  return out;
}

async function main() {
  installCleanup();
  const startedAt = new Date();
  const notes = [];
  console.log(
    `Rampart HTTP bench — ${os.cpus().length} CPU(s), Node ${process.version}, ` +
      `${CONNECTIONS} connections, pipelining ${PIPELINING}, ${DURATION_S}s × ${ROUNDS} round(s) (+${WARMUP_S}s warm-up each), GET ${ROUTE}`,
  );

  // Server and load generator already share two cores; anything else
  // running (a test suite, a build) skews the figures more than any control.
  const { idle, note: busyNote } = await busyMachineNote();
  if (busyNote) {
    notes.push(busyNote);
    console.log(`WARNING: ${busyNote}`);
  }

  const started = {};
  const skipped = {};
  const byKey = Object.fromEntries(PEERS.map((p) => [p.key, p]));

  // Rampart first: the floor peer needs its headers (started for them even when (c) is not measured).
  const c = await startPeer(ALL_PEERS.find((p) => p.key === 'c'));
  let floorHeaders;
  let floorSource;
  if (c.ok) {
    floorHeaders = await captureStaticHeaders(c.url);
    if (byKey.c) started.c = c;
    else await stopServer(c.child);
  } else {
    skipped.c = c.reason;
    console.log(`(c) rampart: SKIPPED — ${c.reason}`);
  }
  if (floorHeaders) {
    floorSource = 'rampart';
  } else {
    floorHeaders = FALLBACK_HEADERS;
    floorSource = 'fallback';
    const msg = 'byte floor (b) uses a hard-coded list of helmet’s default headers because Rampart could not be started; (b) is NOT Rampart’s real floor in this run';
    notes.push(msg);
    console.log(`NOTE: ${msg}`);
  }

  for (const peer of PEERS) {
    if (peer.key === 'c') continue;
    const env = peer.key === 'b' ? { BENCH_FLOOR_HEADERS: JSON.stringify(floorHeaders) } : {};
    const s = await startPeer(peer, env);
    if (s.ok) started[peer.key] = s;
    else {
      skipped[peer.key] = s.reason;
      console.log(`(${peer.key}) ${peer.name}: SKIPPED — ${s.reason}`);
    }
  }
  const active = PEERS.filter((p) => started[p.key]);
  if (active.length === 0) throw new Error('no peer could be started');
  for (const p of active) {
    const s = started[p.key];
    console.log(`(${p.key}) ${p.name}: ready, ${s.headerCount} headers, ${s.responseBytes} bytes per response`);
  }

  const rounds = await interleave(
    active.map((p) => ({ key: p.key, child: started[p.key].child, measure: () => measure({ url: started[p.key].url }, { durationS: DURATION_S, warmupS: WARMUP_S, connections: CONNECTIONS, pids: [started[p.key].child.pid] }) })),
    ROUNDS,
  );
  const noisy = [];
  rounds.forEach((round, r) => {
    for (const [key, m] of Object.entries(round)) if (m && m.foreignCpu > FOREIGN_CPU_LIMIT) noisy.push(`round ${r + 1} (${key}): ${Math.round(m.foreignCpu * 100)} %`);
  });

  const peerResults = {};
  for (const p of PEERS) {
    const s = started[p.key];
    const runs = rounds.map((r) => r[p.key] ?? null);
    const ok = runs.filter(Boolean);
    peerResults[p.key] = {
      name: p.name,
      label: p.label,
      status: s ? 'ok' : 'skipped',
      reason: skipped[p.key],
      responseBytes: s?.responseBytes,
      headerCount: s?.headerCount,
      rounds: runs,
      median: s
        ? {
            rps: median(ok.map((x) => x.rps)),
            p50: median(ok.map((x) => x.p50)),
            p99: median(ok.map((x) => x.p99)),
            cpuUsPerRequest: median(ok.map((x) => x.cpuUsPerRequest)),
          }
        : null,
      non2xx: ok.reduce((n, x) => n + x.non2xx, 0),
      errors: ok.reduce((n, x) => n + x.errors + x.timeouts, 0),
    };
    const pr = peerResults[p.key];
    if (pr.non2xx || pr.errors) {
      const msg = `(${p.key}) ${p.name} had ${pr.non2xx} non-2xx responses and ${pr.errors} errors/timeouts: its req/s is not comparable`;
      notes.push(msg);
    }
  }

  if (noisy.length) {
    notes.push(
      `other processes used more than ${FOREIGN_CPU_LIMIT * 100} % of the CPU during ${noisy.length} measurement(s), marked ~ in the live output ` +
        `(${noisy.join(', ')}): rerun on an idle machine before trusting the figures`,
    );
  }

  // Ratios within the same round compare runs taken minutes apart at most,
  // so they are steadier than a ratio of medians.
  // The CPU ones are informational: the targets are on req/s; CPU per request shows how much of
  // a req/s gap is the server's own cost and how much the load generator's share of the two cores.
  const ratios = {};
  const cpuRatios = {};
  for (const name of RATIOS) {
    const [x, y] = name.split('/');
    ratios[name] = ratioOf(rounds, x, y);
    cpuRatios[name] = ratioOf(rounds, x, y, requestsPerCpu);
  }
  const targets = TARGETS.map((t) => {
    const value = ratios[t.ratio].median;
    return { ...t, value, pass: value == null ? null : value >= t.min };
  });

  const cell = (m) => (m ? `${fmt.rps(m.rps)}${m.non2xx || m.errors ? '!' : ''}${m.foreignCpu > FOREIGN_CPU_LIMIT ? '~' : ''}` : 'n/a');
  const roundHeaders = ['peer', ...rounds.map((_, i) => `r${i + 1}`)];
  const roundRows = active.map((p) => [`(${p.key}) ${p.name}`, ...rounds.map((r) => cell(r[p.key]))]);
  console.log('\nper round (req/s; ! = non-2xx/errors, ~ = other processes busy):');
  console.log(table(roundHeaders, roundRows));

  const summaryHeaders = ['peer', 'req/s', 'p50 ms', 'p99 ms', 'vs a', 'server CPU µs/req', 'bytes/resp', 'non-2xx'];
  const summaryRows = PEERS.map((p) => {
    const pr = peerResults[p.key];
    if (pr.status !== 'ok') return [`(${p.key}) ${p.name}`, 'skipped', '', '', '', '', '', ''];
    const vsA = p.key === 'a' ? 1 : ratios[`${p.key}/a`]?.median;
    const cpu = pr.median.cpuUsPerRequest == null ? 'n/a' : pr.median.cpuUsPerRequest.toFixed(1);
    return [`(${p.key}) ${p.name}`, fmt.rps(pr.median.rps), fmt.ms(pr.median.p50), fmt.ms(pr.median.p99), fmt.ratio(vsA), cpu, pr.responseBytes, pr.non2xx + pr.errors];
  });
  console.log('\nmedian over rounds:');
  console.log(table(summaryHeaders, summaryRows));

  const ratioRows = RATIOS.map((name) => {
    const t = targets.find((x) => x.ratio === name);
    const verdict = t ? (t.pass == null ? `target ≥ ${t.min}: n/a` : `target ≥ ${t.min}: ${t.pass ? 'PASS' : 'FAIL'}`) : '';
    return [name, fmt.ratio(ratios[name].median), ratios[name].perRound.map(fmt.ratio).join(' '), verdict];
  });
  console.log('\nratios (req/s, per round then median):');
  console.log(table(['ratio', 'median', 'per round', ''], ratioRows));
  const cpuRatioRows = RATIOS.map((name) => [name, fmt.ratio(cpuRatios[name].median), cpuRatios[name].perRound.map(fmt.ratio).join(' ')]);
  console.log('\nsame ratios from server CPU per request (informational; 0.80 = the first costs 1.25 × the second):');
  console.log(table(['ratio', 'median', 'per round'], cpuRatioRows));
  for (const n of notes) console.log(`NOTE: ${n}`);

  // Start-up is timed on a quiet machine: the peers (Rampart's among them, with its timers and
  // pollers) would otherwise share the cores with the process being timed.
  await stopAll();
  console.log('\nstartup (rampart serve --with-worker):');
  const startup = process.env.BENCH_STARTUP_RUNS === '0'
    ? { status: 'skipped', reason: 'BENCH_STARTUP_RUNS=0' }
    : await runStartupBench({ log: (m) => console.log(`  ${m}`) });

  const results = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    environment: {
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      idleBeforeRun: idle,
      loadAverage: os.loadavg(),
    },
    config: { route: ROUTE, durationS: DURATION_S, rounds: ROUNDS, warmupS: WARMUP_S, connections: CONNECTIONS, pipelining: PIPELINING, loadGenerator: 'autocannon (in harness process, loopback)' },
    floorHeaders: { source: floorSource, headers: floorHeaders },
    peers: peerResults,
    ratios,
    cpuRatios,
    targets,
    startup,
    notes,
  };

  const jsonPath = writeRawResults('http', startedAt, results);

  const md = [
    `# Rampart HTTP bench — ${results.startedAt}`,
    '',
    `Node ${process.version}, ${results.environment.cpus} CPU(s) (${results.environment.cpuModel ?? 'unknown'}), ` +
      `autocannon ${CONNECTIONS} connections, pipelining ${PIPELINING}, ${DURATION_S}s × ${ROUNDS} round(s) after ${WARMUP_S}s warm-up, \`GET ${ROUTE}\`. ` +
      `Raw data: \`${path.relative(ROOT, jsonPath)}\`.`,
    '',
    mdTable(
      summaryHeaders,
      summaryRows.map((r, i) => [`(${PEERS[i].key}) ${PEERS[i].label}`, ...r.slice(1)]),
    ),
    '',
    '## Per round (req/s)',
    '',
    'Order alternates each round. `!` = non-2xx or socket errors, `~` = other processes used the CPU during that measurement.',
    '',
    mdTable(roundHeaders, roundRows),
    '',
    '## Ratios (req/s; per round, then median)',
    '',
    mdTable(['ratio', 'median', 'per round', 'target'], ratioRows),
    '',
    '## The same ratios from server CPU per request (informational)',
    '',
    'CPU time the server process used per answered request, as the inverse ratio (0.80 = the first costs 1.25 × the second). ' +
      'The targets are on req/s; this shows how much of a req/s gap is the server’s own cost rather than its share of the two cores.',
    '',
    mdTable(['ratio', 'median', 'per round'], cpuRatioRows),
    '',
    `Byte floor headers: ${floorSource === 'rampart' ? 'captured from Rampart' : '**fallback list (helmet defaults) — Rampart did not start**'}: ` +
      (Object.keys(floorHeaders).map((h) => `\`${h}\``).join(', ') || 'none'),
    '',
    '## Startup (`rampart serve --with-worker` until /health and /readiness are 200)',
    '',
    startup.status === 'ok'
      ? `First start (empty data dir) median **${startup.median.firstStartMs.toFixed(0)} ms**, second start median **${startup.median.secondStartMs?.toFixed(0) ?? 'n/a'} ms** ` +
        `(runs: ${startup.runs.firstStartMs.map((x) => x.toFixed(0)).join(', ')} / ${startup.runs.secondStartMs.map((x) => x.toFixed(0)).join(', ')}); ` +
        `target < ${startup.targetMs} ms: **${startup.pass ? 'PASS' : 'FAIL'}**`
      : `${startup.status}: ${startup.reason ?? startup.failures?.join('; ')}`,
    '',
    ...(Object.keys(skipped).length ? ['## Skipped', '', ...Object.entries(skipped).map(([k, r]) => `- (${k}) ${ALL_PEERS.find((p) => p.key === k).name}: ${r}`), ''] : []),
    ...(notes.length ? ['## Notes', '', ...notes.map((n) => `- ${n}`), ''] : []),
  ].join('\n');
  writeSummary('latest.md', md, jsonPath);

  if (process.env.BENCH_STRICT === '1') {
    const failed = targets.some((t) => t.pass !== true) || (startup.status === 'ok' ? !startup.pass : true);
    if (failed) {
      console.log('BENCH_STRICT=1: a target was missed or could not be measured');
      process.exitCode = 1;
    }
  }
}

try {
  await main();
} finally {
  await stopAll();
}
