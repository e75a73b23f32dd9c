import { connect } from 'node:net';
import { Agent, request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import { startRampart } from '../support/rampart-process.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Opens a TCP connection, writes a whole request, and resolves with whatever comes back (or the socket error). */
function rawRequest(port: number, path: string): { written: Promise<void>; answer: Promise<string> } {
  const socket = connect(port, '127.0.0.1');
  let written!: () => void;
  const writtenPromise = new Promise<void>((resolve) => { written = resolve; });
  const answer = new Promise<string>((resolve) => {
    let received = '';
    socket.on('connect', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, () => written()));
    socket.on('data', (chunk: Buffer) => { received += chunk.toString('utf8'); });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(`error: ${err.code ?? err.message}`));
    socket.on('close', () => resolve(received));
  });
  return { written: writtenPromise, answer };
}

/** Whether a new connection to the port is refused (a connection made is closed at once). */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

function keepAliveGet(agent: Agent, port: number, path: string): Promise<{ status: number; connection: string | undefined; socketReused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, socketReused: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('shutdown answers what already arrived', () => {
  it('answers every one of 20 requests whose bytes reached the server 20 ms before SIGTERM', async () => {
    // Development defaults: no shutdown delay, so the port closes as soon as it safely can.
    const rampart = await startRampart();
    const requests = Array.from({ length: 20 }, () => rawRequest(rampart.port, '/readiness'));
    await Promise.all(requests.map((r) => r.written));
    await sleep(20);
    rampart.child.kill('SIGTERM');

    const answers = await Promise.all(requests.map((r) => r.answer));
    const statusLines = answers.map((a) => a.split('\r\n')[0]);
    // Ready (200) or already shutting down (503): answered either way, never reset.
    for (const line of statusLines) expect(line).toMatch(/^HTTP\/1\.1 (200|503) /);
    // Those answered once shutdown began tell the client not to reuse the connection (a loaded
    // machine may answer some before the signal is handled: those may stay keep-alive).
    for (const answer of answers.filter((a) => a.startsWith('HTTP/1.1 503'))) expect(answer.toLowerCase()).toContain('\r\nconnection: close\r\n');
    expect(await rampart.exited).toBe(0);
  });

  it('keeps serving during SHUTDOWN_DELAY_MS with readiness 503, and tells keep-alive clients to reconnect', async () => {
    const rampart = await startRampart({ env: { SHUTDOWN_DELAY_MS: '4000', SHUTDOWN_GRACE_MS: '10000' } });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const before = await keepAliveGet(agent, rampart.port, '/health');
      expect(before.status).toBe(200);
      expect(before.connection).toBe('keep-alive');
      const reused = await keepAliveGet(agent, rampart.port, '/health');
      expect(reused.socketReused).toBe(true);

      rampart.child.kill('SIGTERM');
      await rampart.waitForLog((l) => l.msg === 'shutting down');
      await sleep(100);

      // Same keep-alive connection, opened before SIGTERM: answered, with Connection: close.
      const readiness = await keepAliveGet(agent, rampart.port, '/readiness');
      expect(readiness.status).toBe(503);
      expect(readiness.connection).toBe('close');
      // A new connection during the delay is still accepted and served.
      const during = await keepAliveGet(agent, rampart.port, '/test/items/1');
      expect(during.status).toBe(200);
      expect(during.connection).toBe('close');
      expect(during.socketReused).toBe(false);
      expect(rampart.child.exitCode).toBeNull();
    } finally {
      agent.destroy();
    }
    expect(await rampart.exited).toBe(0);
  });

  it('keeps a trusted proxy\'s connection open until the port closes, then answers on it with Connection: close and leaves it for the proxy to end', async () => {
    const rampart = await startRampart({ env: { SHUTDOWN_DELAY_MS: '1500', SHUTDOWN_GRACE_MS: '10000', KEEP_ALIVE_TIMEOUT_MS: '6000', TRUSTED_PROXIES: '127.0.0.1/32' } });
    const proxy = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await keepAliveGet(proxy, rampart.port, '/health')).connection).toBe('keep-alive');
      rampart.child.kill('SIGTERM');
      await rampart.waitForLog((l) => l.msg === 'shutting down');
      // During the delay: served, and the connection stays (a proxy would otherwise open new
      // ones right up to the moment the port closes).
      const during = await keepAliveGet(proxy, rampart.port, '/test/items/1');
      expect(during).toEqual({ status: 200, connection: 'keep-alive', socketReused: true });
      // The port closes: a new connection is refused (a proxy retries that elsewhere, even a POST)…
      await expect.poll(() => refused(rampart.port), { timeout: 5_000, interval: 100 }).toBe(true);
      // …and the open one, idle meanwhile, is still there: its next answer says to close it.
      const after = await keepAliveGet(proxy, rampart.port, '/test/items/1');
      expect(after).toEqual({ status: 200, connection: 'close', socketReused: true });
      expect(await rampart.exited).toBe(0);
    } finally {
      proxy.destroy();
    }
  });

  it('closes an idle keep-alive connection without cutting off a request in flight on another', async () => {
    const rampart = await startRampart({ env: { SHUTDOWN_GRACE_MS: '10000' } });
    const idleAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await keepAliveGet(idleAgent, rampart.port, '/health')).status).toBe(200);
      const slow = keepAliveGet(new Agent({ keepAlive: true }), rampart.port, '/test/slow?ms=1500');
      await sleep(300);
      rampart.child.kill('SIGTERM');
      const answer = await slow;
      expect(answer.status).toBe(200);
      expect(answer.connection).toBe('close');
      expect(await rampart.exited).toBe(0);
    } finally {
      idleAgent.destroy();
    }
  });
});
