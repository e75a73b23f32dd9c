// Process, port and HTTP helpers shared by run.mjs and startup.mjs.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Overridable so the harness can be exercised against a stand-in CLI.
export const RAMPART_CLI = path.resolve(ROOT, process.env.BENCH_RAMPART_CLI ?? path.join('dist', 'rampart.mjs'));

export { sleep };

/** Asks the kernel for a free loopback port; the tiny reuse race is acceptable for a local bench. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const children = new Set();
const tempDirs = new Set();

export function makeTempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir) {
  tempDirs.delete(dir);
  fs.rmSync(dir, { recursive: true, force: true });
}

let devNull;
/**
 * Spawns a server with stdout on /dev/null: the loggers still serialise and
 * write() every line, so their cost is real, but nothing can back-pressure
 * the server the way an undrained pipe would.
 */
export function spawnServer(args, env, { output } = {}) {
  devNull ??= fs.openSync('/dev/null', 'w');
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    // `output`: a file descriptor taking both stdout and stderr (e.g. a worker's log, read after the run).
    stdio: ['ignore', output ?? devNull, output ?? 'inherit'],
    // Own process group, so stopping it also reaches anything it forked
    // (e.g. a worker started by `serve --with-worker`).
    detached: true,
  });
  child.exited = false;
  child.exitPromise = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      child.exited = true;
      children.delete(child);
      resolve({ code, signal });
    });
  });
  child.once('error', () => {
    child.exited = true;
    children.delete(child);
  });
  children.add(child);
  return child;
}

function signalGroup(child, sig) {
  try {
    process.kill(-child.pid, sig);
  } catch {
    try {
      child.kill(sig);
    } catch {
      // already gone
    }
  }
}

/** SIGTERM, then SIGKILL if the process has not exited within graceMs. */
export async function stopServer(child, graceMs = 5000) {
  if (!child || child.exited || child.pid === undefined) return;
  signalGroup(child, 'SIGTERM');
  const done = await Promise.race([child.exitPromise.then(() => true), sleep(graceMs).then(() => false)]);
  if (!done) {
    signalGroup(child, 'SIGKILL');
    await Promise.race([child.exitPromise, sleep(2000)]);
  }
  // The leader can exit before a worker it forked has finished its own
  // shutdown; give the group the same grace, then make sure it is gone.
  const deadline = Date.now() + graceMs;
  while (groupAlive(child) && Date.now() < deadline) await sleep(50);
  if (groupAlive(child)) signalGroup(child, 'SIGKILL');
}

function groupAlive(child) {
  try {
    process.kill(-child.pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function stopAll(graceMs = 3000) {
  await Promise.all([...children].map((c) => stopServer(c, graceMs)));
  for (const dir of [...tempDirs]) removeTempDir(dir);
}

let cleanupInstalled = false;
/** Makes sure no server outlives the harness, whatever way it ends. */
export function installCleanup() {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', () => {
    for (const c of children) signalGroup(c, 'SIGKILL');
    for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  });
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => {
      console.error(`\n${sig}: stopping servers…`);
      stopAll(1000).finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
    });
  }
  const fatal = (err) => {
    console.error(err);
    stopAll(1000).finally(() => process.exit(1));
  };
  process.once('uncaughtException', fatal);
  process.once('unhandledRejection', fatal);
}

/**
 * Plain node:http GET on a keep-alive socket and without Accept-Encoding,
 * so the response looks like what autocannon receives.
 * Resolves null on any network error instead of throwing (used for polling).
 */
export function httpGet(url, timeoutMs = 2000) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return new Promise((resolve) => {
    const req = http.get(url, { agent, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({
          status: res.statusCode,
          statusMessage: res.statusMessage,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          body: body.toString('utf8'),
          bodyBytes: body.length,
        });
      });
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(null));
  }).finally(() => agent.destroy());
}

/** Bytes of status line + header block + body, as sent on the wire (chunking aside). */
export function responseBytes(res) {
  let n = `HTTP/1.1 ${res.status} ${res.statusMessage}\r\n`.length + 2;
  for (let i = 0; i < res.rawHeaders.length; i += 2) {
    n += Buffer.byteLength(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}\r\n`);
  }
  return n + res.bodyBytes;
}

/**
 * Polls until one of the URLs answers 200. Gives up early when the child
 * exits, so a crashing server is reported at once instead of after timeout.
 */
export async function waitFor200(urls, { child, timeoutMs, intervalMs = 50 }) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child?.exited) return { ok: false, reason: `process exited (${child.exitCode ?? child.signalCode}) before becoming healthy` };
    for (const url of urls) {
      const res = await httpGet(url, 1000);
      if (res?.status === 200) return { ok: true, url };
    }
    if (Date.now() > deadline) return { ok: false, reason: `no 200 from ${urls.join(' or ')} within ${timeoutMs} ms` };
    await sleep(intervalMs);
  }
}

export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((x, y) => x - y);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/**
 * Starts `rampart serve` with a bench route plugin on free ports and an empty data dir;
 * resolves once the public port's /health answers (the metrics port comes up first, while
 * migrations still run), or with the reason it did not. `cli`: another build's entry (e.g. a
 * checkout of an earlier commit), run from this checkout so the plugin path is the same.
 */
export async function startRampartServer({ plugin = 'bench/peers/rampart-route.mjs', env = {}, timeoutMs = 30_000, execArgv = [], cli = RAMPART_CLI } = {}) {
  if (!fs.existsSync(cli)) return { ok: false, reason: `${path.relative(ROOT, cli)} not found (run \`npm run build\`${cli === RAMPART_CLI ? '' : ' in that checkout'})` };
  const port = await freePort();
  const metricsPort = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawnServer([...execArgv, cli, 'serve', '--plugin', plugin], {
    PORT: String(port),
    METRICS_PORT: String(metricsPort),
    RAMPART_DATA_DIR: makeTempDir('rampart-bench-'),
    LOG_LEVEL: 'info',
    DOCS_ENABLED: 'false',
    LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '1000',
    TRUSTED_PROXIES: '127.0.0.1/32',
    ...env,
  });
  const health = await waitFor200([`${base}/health`], { child, timeoutMs });
  if (!health.ok) {
    await stopServer(child);
    return { ok: false, reason: health.reason };
  }
  return { ok: true, child, base, metricsBase: `http://127.0.0.1:${metricsPort}` };
}

/** Starts one of bench/peers/*.mjs on a free port and waits for its /health. */
export async function startPeerServer(name, env = {}) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawnServer([path.join(ROOT, 'bench', 'peers', `${name}.mjs`)], { PORT: String(port), ...env });
  const health = await waitFor200([`${base}/health`], { child, timeoutMs: 10_000 });
  if (!health.ok) {
    await stopServer(child);
    return { ok: false, reason: health.reason };
  }
  return { ok: true, child, base };
}

export const RESULTS_DIR = path.join(ROOT, 'bench', 'results');

/** Writes a suite's raw results to bench/results/<suite>-<start time>.json; returns the file's path. */
export function writeRawResults(suite, startedAt, results) {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = startedAt.toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  const jsonPath = path.join(RESULTS_DIR, `${suite}-${stamp}.json`);
  fs.writeFileSync(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
  return jsonPath;
}

/** Writes a suite's Markdown summary to bench/results/<fileName> and says where both files went. */
export function writeSummary(fileName, markdown, jsonPath) {
  fs.writeFileSync(path.join(RESULTS_DIR, fileName), markdown);
  console.log(`\nwrote ${path.relative(ROOT, jsonPath)} and bench/results/${fileName}`);
}
