import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRampart, type RampartProcess } from '../support/rampart-process.js';

// The set every response carries (EDGE-2); HSTS because FORCE_HTTPS is on below.
const SECURITY_HEADERS: Record<string, RegExp> = {
  'strict-transport-security': /^max-age=31536000; includeSubDomains; preload$/,
  'content-security-policy': /default-src 'self'/,
  'x-content-type-options': /^nosniff$/,
  'x-frame-options': /^DENY$/,
  'referrer-policy': /^strict-origin-when-cross-origin$/,
  'permissions-policy': /^geolocation=\(\), microphone=\(\), camera=\(\)$/,
  'cross-origin-opener-policy': /^same-origin$/,
  'cross-origin-resource-policy': /^same-origin$/,
};

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  closed: boolean;
}

/** Writes `chunks` on a raw socket (a pause between them), and reads until the server closes. */
function sendRaw(port: number, chunks: Array<string | Buffer>, pauseMs = 0): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    let closed = false;
    socket.on('connect', async () => {
      for (const chunk of chunks) {
        if (socket.destroyed) break;
        socket.write(chunk);
        if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
      }
    });
    socket.on('data', (data) => received.push(data));
    socket.on('error', () => undefined);
    const timer = setTimeout(() => socket.destroy(), 15_000);
    socket.on('close', () => {
      closed = true;
      clearTimeout(timer);
      const text = Buffer.concat(received).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      if (split === -1) return reject(new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
      const [statusLine, ...lines] = text.slice(0, split).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine!.split(' ')[1]), headers, body: text.slice(split + 4), closed });
    });
  });
}

describe('requests refused by Node\'s HTTP parser', () => {
  let rampart: RampartProcess;
  let normalHeaders: Record<string, string>;
  beforeAll(async () => {
    rampart = await startRampart({ env: { FORCE_HTTPS: 'true', HEADERS_TIMEOUT_MS: '1000', REQUEST_TIMEOUT_MS: '2000' } });
    normalHeaders = (await rampart.request('/health')).headers as Record<string, string>;
  });
  afterAll(async () => {
    await rampart?.stop();
  });

  const expectProblem = (res: RawResponse, status: number, type: string) => {
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(res.headers.connection).toBe('close');
    expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.body));
    const problem = JSON.parse(res.body) as Record<string, unknown>;
    expect(Object.keys(problem).sort()).toEqual(['correlation_id', 'detail', 'status', 'title', 'type']);
    expect(problem).toMatchObject({ type, status, title: expect.any(String), detail: expect.any(String) });
    expect(problem.correlation_id).toBe(res.headers['x-correlation-id']);
    expect(problem.correlation_id).toMatch(/^[0-9a-f-]{36}$/);
    for (const [name, pattern] of Object.entries(SECURITY_HEADERS)) {
      expect(res.headers[name], name).toMatch(pattern);
      expect(res.headers[name], name).toBe(normalHeaders[name]);
    }
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(res.closed).toBe(true);
    return problem;
  };

  it.each([
    ['an invalid method', 'GE T /health HTTP/1.1\r\nHost: x\r\n\r\n', /method/],
    ['Content-Length together with Transfer-Encoding', 'POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', /Transfer-Encoding/],
    ['a repeated Content-Length', 'POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}', /Content-Length/],
    ['raw non-ASCII in the URL', Buffer.concat([Buffer.from('GET /caf'), Buffer.from('é', 'utf8'), Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n')]), /percent-encoded/],
    ['bytes that are not HTTP at all', '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n', /HTTP/],
  ])('answers %s with 400 problem+json and the security headers', async (_case, request, detail) => {
    const problem = expectProblem(await sendRaw(rampart.port, [request]), 400, '/problems/malformed-request');
    expect(problem.title).toBe('Bad Request');
    expect(problem.detail).toMatch(detail);
  });

  it('answers headers over 16 KB with 431 problem+json and the security headers', async () => {
    const problem = expectProblem(await sendRaw(rampart.port, [`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`]), 431, '/problems/headers-too-large');
    expect(problem.detail).toMatch(/16 KB/);
  });

  it('answers a client too slow to send its headers with 408 problem+json and the security headers', async () => {
    const res = await sendRaw(rampart.port, ['GET /health HTTP/1.1\r\n', 'Host: x\r\n', 'X-Slow: 1\r\n', 'X-Slow: 2\r\n', 'X-Slow: 3\r\n', 'X-Slow: 4\r\n'], 400);
    expectProblem(res, 408, '/problems/request-timeout');
  });

  it('logs each refusal at info (a client\'s mistake, not ours), with the correlation id it answered', async () => {
    const res = await sendRaw(rampart.port, ['GE T / HTTP/1.1\r\nHost: x\r\n\r\n']);
    const line = await rampart.waitForLog((l) => l.msg === 'malformed request refused' && l.correlation_id === res.headers['x-correlation-id']);
    expect(line).toMatchObject({ level: 'info', status: 400, code: 'HPE_INVALID_METHOD' });
    expect(rampart.logs.filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([]);
    // The server is unharmed: the next request on a new connection is answered.
    expect((await rampart.request('/health')).status).toBe(200);
  });
});
