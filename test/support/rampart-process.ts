import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '..', '..');
// The bundled entry `npm start` and the `rampart` bin run (scripts/bundle.mjs).
export const cliPath = join(repoRoot, 'dist', 'rampart.mjs');
export const fixturePlugin = join(repoRoot, 'test', 'fixtures', 'test-routes.mjs');

export interface LogLine {
  level: string;
  msg: string;
  correlation_id?: string;
  [key: string]: unknown;
}

export interface RampartProcess {
  child: ChildProcess;
  baseUrl: string;
  metricsUrl: string;
  port: number;
  logs: LogLine[];
  stderr: () => string;
  /** Raw stdout, for checks that no secret ever reached it. */
  stdout: () => string;
  request(path: string, init?: RequestInit): Promise<HttpResponse>;
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

export interface RequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Source address on the loopback range, to appear as a different client. */
  localAddress?: string;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json<T = Record<string, unknown>>(): T;
}

/** Plain node:http, so tests can pick the source address and see raw headers. */
export function send(url: string, init: RequestInit = {}): Promise<HttpResponse> {
  return new Promise((resolvePromise, reject) => {
    const req = httpRequest(url, { method: init.method ?? 'GET', headers: init.headers, localAddress: init.localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body, json: <T>() => JSON.parse(body) as T });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (init.body !== undefined) req.write(init.body);
    req.end();
  });
}

export interface StartOptions {
  env?: Record<string, string | undefined>;
  args?: string[];
  /** Do not wait for "listening" (for processes expected to exit at start-up). */
  expectExit?: boolean;
}

/** Starts `rampart serve` (built CLI) on free ports and a private data dir. */
export async function startRampart(options: StartOptions = {}): Promise<RampartProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rampart-e2e-'));
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PORT: '0',
    METRICS_PORT: '0',
    HOST: '127.0.0.1',
    RAMPART_DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    // A loaded CI machine stalls timers for over a second; only the load-shedding tests
    // (which set their own limits) should ever see a shed request.
    LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
    // Suites sign in dozens of times from 127.0.0.1; the rate-limit tests turn limits on themselves.
    RATE_LIMIT_ENABLED: 'false',
    ...options.env,
  };
  const child = spawn(process.execPath, [cliPath, ...(options.args ?? ['serve', '--plugin', fixturePlugin])], {
    env: Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const waiters: Array<{ predicate: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
  let stdout = '';
  let stderr = '';
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    stdout += text;
    pending += text;
    let newline: number;
    while ((newline = pending.indexOf('\n')) !== -1) {
      const raw = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      try {
        const line = JSON.parse(raw) as LogLine;
        logs.push(line);
        for (const w of [...waiters]) if (w.predicate(line)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(line); }
      } catch {
        // non-JSON stdout would itself be a bug; the log tests assert every line parses
        logs.push({ level: 'unparsed', msg: raw });
      }
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
  const exited = new Promise<number | null>((resolveExit) => child.on('exit', (code) => { rmSync(dataDir, { recursive: true, force: true }); resolveExit(code); }));

  const waitForLog = (predicate: (l: LogLine) => boolean, timeoutMs = 15_000) =>
    new Promise<LogLine>((resolveLine, reject) => {
      const found = logs.find(predicate);
      if (found) return resolveLine(found);
      const timer = setTimeout(() => reject(new Error(`log line not seen within ${timeoutMs} ms; stderr:\n${stderr}`)), timeoutMs);
      waiters.push({ predicate, resolve: (l) => { clearTimeout(timer); resolveLine(l); } });
    });

  let baseUrl = '';
  let metricsUrl = '';
  if (!options.expectExit) {
    const listening = await Promise.race([
      waitForLog((l) => l.msg === 'listening', 30_000),
      exited.then((code) => { throw new Error(`rampart exited with ${code} before listening:\n${stderr}`); }),
    ]);
    const urls = listening.urls as { api: string; metrics: string };
    baseUrl = urls.api;
    metricsUrl = urls.metrics;
  }
  const proc: RampartProcess = {
    child,
    baseUrl,
    metricsUrl,
    port: baseUrl ? Number(new URL(baseUrl).port) : 0,
    logs,
    stderr: () => stderr,
    stdout: () => stdout,
    request: (path, init) => send(`${baseUrl}${path}`, init),
    waitForLog,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  return proc;
}

/** Runs the CLI to completion and returns its exit code and output. */
export function runCli(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rampart-cli-'));
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      env: Object.fromEntries(Object.entries({ PATH: process.env.PATH, HOME: process.env.HOME, RAMPART_DATA_DIR: dataDir, PORT: '0', METRICS_PORT: '0', ...env }).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.on('exit', (code) => {
      if (!env.RAMPART_DATA_DIR) rmSync(dataDir, { recursive: true, force: true });
      resolvePromise({ code, stdout, stderr });
    });
  });
}
