// Measurement helpers shared by the bench suites: autocannon runs, CPU accounting,
// interleaved rounds and table output.
import fs from 'node:fs';
import os from 'node:os';
import autocannon from 'autocannon';
import { median, sleep } from './lib.mjs';

export const FOREIGN_CPU_LIMIT = 0.1;

export function positiveNumber(env, dflt) {
  const raw = process.env[env];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${env} must be a positive number, got "${raw}"`);
  return n;
}

/**
 * CPU counters of the whole machine, this process and the measured server.
 * Their difference over a measurement is what *other* processes used: on two
 * cores a test suite running alongside changes req/s more than any control.
 */
function cpuSnapshot(pids, sidePids = []) {
  let busy = 0;
  let total = 0;
  for (const { times: t } of os.cpus()) {
    busy += t.user + t.nice + t.sys + t.irq;
    total += t.user + t.nice + t.sys + t.irq + t.idle;
  }
  const self = process.cpuUsage();
  const peerMs = cpuMsOf(pids);
  const sideMs = cpuMsOf(sidePids);
  return { busy, total, selfMs: (self.user + self.system) / 1000, peerMs, sideMs };
}

/** CPU milliseconds the processes have used so far; null when unknown (not Linux, or one is gone). */
function cpuMsOf(pids) {
  let ms = 0;
  for (const pid of pids) {
    try {
      // utime and stime are fields 14 and 15, in clock ticks (USER_HZ = 100 on Linux).
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ms += (Number(f[11]) + Number(f[12])) * 10;
    } catch {
      return null;
    }
  }
  return ms;
}

function foreignCpuShare(a, b) {
  if (a.peerMs == null || b.peerMs == null || a.sideMs == null || b.sideMs == null || b.total <= a.total) return null;
  const foreign = b.busy - a.busy - (b.selfMs - a.selfMs) - (b.peerMs - a.peerMs) - (b.sideMs - a.sideMs);
  return Math.max(0, foreign / (b.total - a.total));
}

/**
 * One autocannon measurement after a discarded warm-up. `pids` are the processes that
 * legitimately use CPU (the server, and Redis where it is part of what is measured);
 * `sidePids` also belong to the run (a trace collector) but are not counted per request.
 */
export async function measure(request, { durationS, warmupS = 1, connections = 50, pids = [], sidePids = [] }) {
  const opts = { pipelining: 1, connections, ...request };
  // Warm-up lets V8 optimise the hot path and the sockets settle; discarded.
  if (warmupS > 0) await autocannon({ ...opts, duration: warmupS });
  const before = cpuSnapshot(pids, sidePids);
  const r = await autocannon({ ...opts, duration: durationS });
  const after = cpuSnapshot(pids, sidePids);
  return {
    foreignCpu: foreignCpuShare(before, after),
    sideCpuUsPerRequest: sidePids.length && before.sideMs != null && after.sideMs != null && r.requests.total > 0 ? ((after.sideMs - before.sideMs) * 1000) / r.requests.total : null,
    // CPU the measured processes spent per answered request: unlike req/s, it does not depend
    // on how much of the machine the load generator and the neighbours left over.
    cpuUsPerRequest: before.peerMs != null && after.peerMs != null && r.requests.total > 0 ? ((after.peerMs - before.peerMs) * 1000) / r.requests.total : null,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    totalRequests: r.requests.total,
    bytesPerSec: r.throughput.average,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    durationS: r.duration,
    statusCodes: r.statusCodeStats,
  };
}

/**
 * Measures every peer once per round, alternating the order each round so slow drift does not
 * always hit the same peer. `peer.measure()` returns a `measure()` result.
 */
export async function interleave(peers, rounds, log = (s) => process.stdout.write(s)) {
  const out = [];
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? peers : [...peers].reverse();
    const round = {};
    log(`round ${r + 1}/${rounds}:`);
    for (const p of order) {
      if (p.child?.exited) {
        round[p.key] = null;
        log(` ${p.key}=DIED`);
        continue;
      }
      const m = await p.measure();
      round[p.key] = m;
      log(` ${p.key}=${fmt.rps(m.rps)}${m.non2xx || m.errors ? '!' : ''}${m.foreignCpu > FOREIGN_CPU_LIMIT ? '~' : ''}`);
    }
    log('\n');
    out.push(round);
  }
  return out;
}

/** The p-th percentile (0–100) of unsorted values, nearest rank; null when there are none. */
export function percentile(values, p) {
  const v = [...values].sort((a, b) => a - b);
  return v.length ? v[Math.min(v.length - 1, Math.ceil((p / 100) * v.length) - 1)] : null;
}

/**
 * x/y per round (runs minutes apart at most, steadier than a ratio of medians) and their median.
 * `figure` is what is compared, higher meaning better: req/s unless told otherwise.
 */
export function ratioOf(rounds, x, y, figure = (m) => m.rps) {
  const perRound = rounds.map((r) => {
    if (!r[x] || !r[y]) return null;
    const [a, b] = [figure(r[x]), figure(r[y])];
    return a == null || b == null ? null : a / b;
  });
  return { perRound, median: median(perRound) };
}

/** For `ratioOf`: requests per CPU-µs, so the ratio reads like req/s (below 1: x costs more). */
export const requestsPerCpu = (m) => (m.cpuUsPerRequest ? 1 / m.cpuUsPerRequest : null);

export function medianOf(rounds, key) {
  const ok = rounds.map((r) => r[key]).filter(Boolean);
  if (ok.length === 0) return null;
  return {
    rps: median(ok.map((x) => x.rps)),
    p50: median(ok.map((x) => x.p50)),
    p99: median(ok.map((x) => x.p99)),
    non2xx: ok.reduce((n, x) => n + x.non2xx, 0),
    errors: ok.reduce((n, x) => n + x.errors + x.timeouts, 0),
  };
}

export const fmt = {
  rps: (n) => (n == null ? 'n/a' : Math.round(n).toLocaleString('en-US')),
  ms: (n) => (n == null ? 'n/a' : Number.isInteger(n) ? String(n) : n.toFixed(1)),
  ratio: (n) => (n == null ? 'n/a' : n.toFixed(2)),
};

export function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function mdTable(headers, rows) {
  return [`| ${headers.join(' | ')} |`, `|${headers.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** Share of CPU time spent idle across all cores over the next `ms`. */
export async function idleShare(ms = 1000) {
  const snap = () => os.cpus().reduce((acc, c) => {
    const t = c.times;
    acc.idle += t.idle;
    acc.total += t.user + t.nice + t.sys + t.idle + t.irq;
    return acc;
  }, { idle: 0, total: 0 });
  const a = snap();
  await sleep(ms);
  const b = snap();
  return b.total > a.total ? (b.idle - a.idle) / (b.total - a.total) : 1;
}

/** A warning when other processes already keep the machine busy: figures taken now are unreliable. */
export async function busyMachineNote() {
  const idle = await idleShare();
  if (idle >= 0.85) return { idle, note: undefined };
  return { idle, note: `machine was busy before the run (${Math.round((1 - idle) * 100)} % CPU in use by other processes, load average ${os.loadavg()[0].toFixed(2)}): absolute figures and ratios are unreliable` };
}
