import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRampart, type RampartProcess } from '../support/rampart-process.js';

describe('slow clients', () => {
  let rampart: RampartProcess;
  beforeAll(async () => {
    rampart = await startRampart({ env: { HEADERS_TIMEOUT_MS: '1000', REQUEST_TIMEOUT_MS: '2000', KEEP_ALIVE_TIMEOUT_MS: '500' } });
  });
  afterAll(async () => {
    await rampart?.stop();
  });

  /** Opens a raw socket, trickles bytes with `write`, and reports when the server hangs up. */
  const hangUpAfter = (write: (socket: ReturnType<typeof connect>) => void) =>
    new Promise<{ ms: number; received: string }>((resolve) => {
      const started = Date.now();
      const socket = connect(rampart.port, '127.0.0.1', () => write(socket));
      let received = '';
      socket.on('data', (d) => { received += d.toString(); });
      socket.on('close', () => resolve({ ms: Date.now() - started, received }));
      socket.on('error', () => undefined);
      setTimeout(() => socket.destroy(), 10_000);
    });

  it('drops a client that trickles its headers (slowloris) after HEADERS_TIMEOUT_MS', async () => {
    const { ms } = await hangUpAfter((socket) => {
      socket.write('GET /health HTTP/1.1\r\nHost: x\r\n');
      const timer = setInterval(() => socket.writable && socket.write('X-Slow: 1\r\n'), 200);
      socket.on('close', () => clearInterval(timer));
    });
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(4_000);
  });

  it('drops a client that stops sending its body', async () => {
    const { ms, received } = await hangUpAfter((socket) => {
      socket.write('POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":');
    });
    expect(ms).toBeLessThan(5_000);
    expect(received === '' || /^HTTP\/1\.1 408/.test(received)).toBe(true);
  });

  it('closes idle keep-alive connections after KEEP_ALIVE_TIMEOUT_MS', async () => {
    const { ms, received } = await hangUpAfter((socket) => socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect(received).toMatch(/^HTTP\/1\.1 200/);
    expect(ms).toBeLessThan(3_000);
  });
});
