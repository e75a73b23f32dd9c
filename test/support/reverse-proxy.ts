import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest, type Agent } from 'node:https';
import { request as httpRequest } from 'node:http';
import { createServer, connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TestAuthority } from './test-certificates.js';
import { repoRoot } from './rampart-process.js';

const run = promisify(execFile);

/** The name the proxies serve and the test certificate is issued for; tests connect to 127.0.0.1. */
export const SITE = 'rampart.example.com';
export const nginxDir = path.join(repoRoot, 'deploy', 'proxy', 'nginx');
export const caddyDir = path.join(repoRoot, 'deploy', 'proxy', 'caddy');

export interface ProxyResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Every header line as sent, to count how often a header appears. */
  rawHeaders: string[];
  body: string;
}

export interface ProxyRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  localAddress?: string;
  agent?: Agent;
}

export interface RunningProxy {
  kind: 'nginx' | 'caddy';
  dir: string;
  httpPort: number;
  httpsPort: number;
  caPem: string;
  /** An https request to the proxy, for `SITE`, trusting only the test CA. */
  request(pathname: string, init?: ProxyRequest): Promise<ProxyResponse>;
  /** A plain-http request to the proxy's port 80 equivalent. */
  plainRequest(pathname: string, init?: ProxyRequest): Promise<ProxyResponse>;
  /** Writes the upstream file the way `rampart deploy` does and reloads the proxy. */
  setUpstreams(addresses: readonly string[]): Promise<void>;
  accessLog(): Promise<string[]>;
  stop(): Promise<void>;
}

export interface ProxyOptions {
  authority: TestAuthority;
  upstreams: readonly string[];
  docs: { user: string; password: string };
  /** Addresses exempt from nginx's rate limits (load generators). */
  rateLimitExempt?: readonly string[];
  /** How long the site's certificate is valid (days; the authority's default otherwise). */
  certificateDays?: number;
}

/** A free TCP port on 127.0.0.1 (closed again before it is returned). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts Debian's nginx on the shipped configuration, with its own prefix, pid file and ports. */
export const startNginx = (options: ProxyOptions) => retryOnPortClash(() => startNginxOnce(options));

async function startNginxOnce(options: ProxyOptions): Promise<RunningProxy> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rampart-nginx-'));
  const site = path.join(dir, 'rampart');
  await cp(nginxDir, site, { recursive: true });
  await Promise.all(['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((name) => mkdir(path.join(dir, 'tmp', name), { recursive: true })));
  const [httpPort, httpsPort] = [await freePort(), await freePort()];
  const { certPem, keyPem } = await options.authority.issue([SITE], { days: options.certificateDays });
  await writeFile(path.join(dir, 'cert.pem'), certPem);
  await writeFile(path.join(dir, 'key.pem'), keyPem, { mode: 0o600 });

  // The shipped files name production paths and ports; the test moves them under its prefix.
  for (const file of await readdir(site)) {
    const full = path.join(site, file);
    let text = (await readFile(full, 'utf8')).replaceAll('/etc/nginx/rampart/', `${site}/`);
    if (file === 'rampart.conf') {
      text = text
        .replace(/^\s*listen \[::\]:\d+.*\n/gm, '')
        .replace('listen 80;', `listen 127.0.0.1:${httpPort};`)
        .replace('listen 443 ssl http2;', `listen 127.0.0.1:${httpsPort} ssl http2;`)
        .replace(`/etc/letsencrypt/live/${SITE}/fullchain.pem`, path.join(dir, 'cert.pem'))
        .replace(`/etc/letsencrypt/live/${SITE}/privkey.pem`, path.join(dir, 'key.pem'))
        .replaceAll('/var/log/nginx/rampart-access.log', path.join(dir, 'access.log'))
        .replace('/var/www/letsencrypt', path.join(dir, 'acme'));
    }
    await writeFile(full, text);
  }
  await writeFile(path.join(site, 'rate-limit-allowlist.conf'), (options.rateLimitExempt ?? []).map((a) => `${a} 0;\n`).join(''));
  const { stdout: hash } = await run('openssl', ['passwd', '-6', options.docs.password]);
  await writeFile(path.join(site, 'docs.htpasswd'), `${options.docs.user}:${hash.trim()}\n`);
  await writeUpstreamsAtomically(path.join(site, 'upstream.conf'), nginxUpstreams(options.upstreams));

  const conf = path.join(dir, 'nginx.conf');
  await writeFile(conf, [
    // The master runs as root in CI; workers must read the htpasswd under a 0700 temp dir.
    'user root;',
    'worker_processes 1;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log info;`,
    'events { worker_connections 1024; }',
    'http {',
    '  include /etc/nginx/mime.types;',
    '  default_type application/octet-stream;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((name) => `  ${name}_temp_path ${dir}/tmp/${name === 'client_body' ? 'body' : name};`),
    `  include ${site}/rampart.conf;`,
    '}',
    '',
  ].join('\n'));
  const args = ['-p', dir, '-c', conf];
  await run('nginx', [...args, '-t']);
  const child = spawn('nginx', [...args, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  await waitForPort(httpsPort, child, () => readFile(path.join(dir, 'error.log'), 'utf8').catch(() => ''));
  return runningProxy({
    kind: 'nginx', dir, httpPort, httpsPort, caPem: options.authority.caPem, child,
    accessLogPath: path.join(dir, 'access.log'),
    async setUpstreams(addresses) {
      await writeUpstreamsAtomically(path.join(site, 'upstream.conf'), nginxUpstreams(addresses));
      await run('nginx', [...args, '-t']);
      await run('nginx', [...args, '-s', 'reload']);
    },
    stop: (c) => stopChild(c, 'SIGQUIT'),
  });
}

/** Starts Debian's Caddy on the shipped Caddyfile, with its own storage, admin endpoint and ports. */
export const startCaddy = (options: ProxyOptions) => retryOnPortClash(() => startCaddyOnce(options));

async function startCaddyOnce(options: ProxyOptions): Promise<RunningProxy> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rampart-caddy-'));
  await cp(caddyDir, dir, { recursive: true });
  const [httpPort, httpsPort, adminPort] = [await freePort(), await freePort(), await freePort()];
  const { certPem, keyPem } = await options.authority.issue([SITE], { days: options.certificateDays });
  await writeFile(path.join(dir, 'cert.pem'), certPem);
  await writeFile(path.join(dir, 'key.pem'), keyPem, { mode: 0o600 });
  await writeUpstreamsAtomically(path.join(dir, 'upstream.caddy'), caddyUpstreams(options.upstreams));
  const { stdout: hash } = await run('caddy', ['hash-password', '--plaintext', options.docs.password]);
  const env = caddyEnv(dir, { httpPort, httpsPort, adminPort, docsUser: options.docs.user, docsHash: hash.trim() });
  const config = ['--config', path.join(dir, 'Caddyfile'), '--adapter', 'caddyfile'];
  await run('caddy', ['validate', ...config], { env });
  const child = spawn('caddy', ['run', ...config], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr?.on('data', (c: Buffer) => { output += c.toString(); });
  await waitForPort(httpsPort, child, async () => output);
  return runningProxy({
    kind: 'caddy', dir, httpPort, httpsPort, caPem: options.authority.caPem, child,
    accessLogPath: path.join(dir, 'access.log'),
    async setUpstreams(addresses) {
      await writeUpstreamsAtomically(path.join(dir, 'upstream.caddy'), caddyUpstreams(addresses));
      await run('caddy', ['reload', ...config, '--address', `127.0.0.1:${adminPort}`], { env });
    },
    stop: (c) => stopChild(c, 'SIGTERM'),
  });
}

/** The environment the shipped Caddyfile reads (see its header). */
export function caddyEnv(dir: string, settings: { httpPort: number; httpsPort: number; adminPort: number; docsUser: string; docsHash: string }): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: dir,
    XDG_DATA_HOME: path.join(dir, 'data'),
    XDG_CONFIG_HOME: path.join(dir, 'config'),
    RAMPART_DOMAIN: SITE,
    RAMPART_TLS: 'files',
    TLS_CERT: path.join(dir, 'cert.pem'),
    TLS_KEY: path.join(dir, 'key.pem'),
    DOCS_USER: settings.docsUser,
    DOCS_PASSWORD_HASH: settings.docsHash,
    HTTP_PORT: String(settings.httpPort),
    HTTPS_PORT: String(settings.httpsPort),
    CADDY_ADMIN: `127.0.0.1:${settings.adminPort}`,
    ACCESS_LOG: path.join(dir, 'access.log'),
  };
}

export const nginxUpstreams = (addresses: readonly string[]) =>
  `upstream rampart {\n    zone rampart_upstream 64k;\n${addresses.map((a) => `    server ${a} max_fails=1 fail_timeout=5s;\n`).join('')}    keepalive 32;\n    keepalive_timeout 4s;\n}\n`;
export const caddyUpstreams = (addresses: readonly string[]) => `to ${addresses.join(' ')}\n`;

async function writeUpstreamsAtomically(file: string, text: string): Promise<void> {
  const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, file);
}

interface ProxyParts {
  kind: 'nginx' | 'caddy';
  dir: string;
  httpPort: number;
  httpsPort: number;
  caPem: string;
  child: ChildProcess;
  accessLogPath: string;
  setUpstreams(addresses: readonly string[]): Promise<void>;
  stop(child: ChildProcess): Promise<void>;
}

function runningProxy(parts: ProxyParts): RunningProxy {
  return {
    kind: parts.kind,
    dir: parts.dir,
    httpPort: parts.httpPort,
    httpsPort: parts.httpsPort,
    caPem: parts.caPem,
    request: (pathname, init = {}) => sendHttps(parts.httpsPort, parts.caPem, pathname, init),
    plainRequest: (pathname, init = {}) => sendPlain(parts.httpPort, pathname, init),
    setUpstreams: parts.setUpstreams,
    accessLog: async () => (await readFile(parts.accessLogPath, 'utf8').catch(() => '')).split('\n').filter((line) => line.trim() !== ''),
    async stop() {
      await parts.stop(parts.child);
      await rm(parts.dir, { recursive: true, force: true });
    },
  };
}

export function sendHttps(port: number, caPem: string, pathname: string, init: ProxyRequest = {}): Promise<ProxyResponse> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({
      host: '127.0.0.1', port, path: pathname, method: init.method ?? 'GET', servername: SITE, ca: caPem,
      headers: { host: SITE, ...(init.body !== undefined ? { 'content-length': String(Buffer.byteLength(init.body)) } : {}), ...init.headers },
      localAddress: init.localAddress, agent: init.agent ?? false,
    }, (res) => collect(res, resolve, reject));
    req.on('error', reject);
    // With Expect: 100-continue the body waits for the server's go-ahead, so a refusal based on
    // the headers (413) arrives before the body is sent, as with curl.
    if (init.headers?.expect === '100-continue') {
      req.on('continue', () => req.end(init.body));
    } else {
      req.end(init.body);
    }
  });
}

function sendPlain(port: number, pathname: string, init: ProxyRequest): Promise<ProxyResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: pathname, method: init.method ?? 'GET', headers: { host: SITE, ...init.headers }, agent: false }, (res) => collect(res, resolve, reject));
    req.on('error', reject);
    req.end(init.body);
  });
}

function collect(res: import('node:http').IncomingMessage, resolve: (r: ProxyResponse) => void, reject: (e: Error) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks).toString('utf8') }));
  res.on('error', reject);
}

/** How many times a header appears in a response, by case-insensitive name. */
export function headerCount(response: ProxyResponse, name: string): number {
  let count = 0;
  for (let i = 0; i < response.rawHeaders.length; i += 2) if (response.rawHeaders[i]!.toLowerCase() === name.toLowerCase()) count += 1;
  return count;
}

/** Opens a WebSocket over TLS through the proxy, sends one text frame and resolves with the echo. */
export function webSocketEcho(port: number, caPem: string, pathname: string, message: string): Promise<{ status: string; echo: string }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: SITE, ca: caPem, ALPNProtocols: ['http/1.1'] });
    const key = randomBytes(16).toString('base64');
    let buffer = Buffer.alloc(0);
    let status = '';
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no WebSocket echo; got ${JSON.stringify(buffer.toString('latin1'))}`)); }, 10_000);
    socket.on('secureConnect', () => {
      socket.write(`GET ${pathname} HTTP/1.1\r\nHost: ${SITE}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!status) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end === -1) return;
        status = buffer.subarray(0, buffer.indexOf('\r\n')).toString('latin1');
        buffer = buffer.subarray(end + 4);
        if (!status.includes(' 101 ')) { clearTimeout(timer); socket.destroy(); resolve({ status, echo: '' }); return; }
        const payload = Buffer.from(message);
        const mask = randomBytes(4);
        socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!))]));
      }
      if (buffer.length >= 2 && buffer.length >= 2 + (buffer[1]! & 0x7f)) {
        clearTimeout(timer);
        const echo = buffer.subarray(2, 2 + (buffer[1]! & 0x7f)).toString('utf8');
        socket.end();
        resolve({ status, echo });
      }
    });
    socket.on('error', (err) => { clearTimeout(timer); reject(err); });
  });
}

/** `openssl s_client` forced to one protocol version (with a client that still offers TLS 1.0/1.1). */
export async function tlsHandshake(port: number, version: 'tls1' | 'tls1_1' | 'tls1_2' | 'tls1_3'): Promise<{ accepted: boolean; output: string }> {
  const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', SITE, `-${version}`, '-cipher', 'DEFAULT:@SECLEVEL=0'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => { output += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { output += c.toString(); });
  child.stdin.end();
  await new Promise((resolve) => child.on('exit', resolve));
  const negotiated = /New, (TLSv1(?:\.\d)?), Cipher is (\S+)/.exec(output);
  return { accepted: negotiated !== null && negotiated[2] !== '(NONE)', output };
}

async function waitForPort(port: number, child: ChildProcess, diagnostics: () => Promise<string>): Promise<void> {
  let exited = false;
  child.once('exit', () => { exited = true; });
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`proxy exited at start:\n${await diagnostics()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = netConnect(port, '127.0.0.1');
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`proxy did not listen on ${port} within 20 s:\n${await diagnostics()}`);
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/**
 * A free port can be taken by another test between the probe and the proxy's bind (the suite
 * runs files in parallel): start again on new ports instead of failing the file.
 */
async function retryOnPortClash(start: () => Promise<RunningProxy>, attempts = 3): Promise<RunningProxy> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      if (attempt >= attempts || !/address already in use/i.test(String((error as Error).message))) throw error;
    }
  }
}
