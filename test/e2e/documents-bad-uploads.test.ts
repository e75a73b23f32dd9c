// Uploads that are the client's fault (a body cut short, a connection dropped mid-upload, a
// multipart body that does not parse, a file sent raw) are answered 4xx, or not at all when
// nobody is left to answer; they are never logged at error level, never counted as a storage
// failure, and leave neither a row nor a stored object.
import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bearer, logIn, rampartOnFreshDatabase, signUp, uniqueEmail } from '../support/auth-client.js';
import { databaseTargets } from '../support/databases.js';
import { send, type LogLine } from '../support/rampart-process.js';

interface RawAnswer {
  /** The status line's code, or undefined when the server closed without answering. */
  status: number | undefined;
  raw: string;
}

/**
 * Writes `head` and `body` on a raw socket, then ends it the way `finish` says: `half-close`
 * sends FIN (the client has nothing more to send but waits for an answer), `destroy` drops the
 * connection after a pause, `none` leaves it open. Resolves with whatever came back.
 */
function rawRequest(port: number, head: string, body: Buffer, finish: 'half-close' | 'destroy' | 'none'): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      socket.destroy();
      const raw = Buffer.concat(chunks).toString('latin1');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1];
      resolve({ status: status === undefined ? undefined : Number(status), raw });
    };
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // The server's FIN (its answer is complete) or the connection's end.
    socket.on('end', done);
    socket.on('close', done);
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? done() : reject(error)));
    socket.write(head);
    socket.write(body, () => {
      if (finish === 'half-close') socket.end();
      // Long enough for the server to have begun storing what it got.
      else if (finish === 'destroy') setTimeout(() => socket.destroy(), 300);
    });
  });
}

const multipartHead = (boundary: string, name = 'notes.txt') =>
  `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: text/plain\r\n\r\n`;

describe.each(databaseTargets())('bad uploads on $name', (factory) => {
  describe.skipIf(!factory.available)('the client is at fault, not the storage', () => {
    const suite = rampartOnFreshDatabase(factory, {}, ['serve', '--with-worker']);

    async function signedIn(): Promise<Record<string, string>> {
      const email = uniqueEmail('bad-upload');
      await signUp(suite.rampart, email);
      return bearer((await logIn(suite.rampart, email)).access_token);
    }
    const requestHead = (auth: Record<string, string>, contentType: string, contentLength: number) =>
      `POST /v1/documents HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${auth.authorization}\r\nContent-Type: ${contentType}\r\nContent-Length: ${contentLength}\r\nConnection: close\r\n\r\n`;
    const listed = async (auth: Record<string, string>) => (await suite.rampart.request('/v1/documents', { headers: auth })).json<{ total: number }>().total;
    async function storedObjects(): Promise<string[]> {
      const entries = await readdir(join(suite.target.dataDir, 'objects'), { recursive: true, withFileTypes: true }).catch(() => []);
      return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
    }
    const uploadAnswers = async (status: number) => {
      const scraped = (await send(suite.rampart.metricsUrl)).body;
      const line = scraped.split('\n').find((l) => l.startsWith('http_requests_total{') && l.includes('route="/v1/documents"') && l.includes('method="POST"') && l.includes(`status="${status}"`));
      return line ? Number(line.split(' ').at(-1)) : 0;
    };
    const logsSince = (from: number) => suite.rampart.logs.slice(from);
    const serious = (lines: LogLine[]) => lines.filter((l) => l.level === 'error' || l.level === 'fatal' || l.level === 'unparsed');
    /** Waits for the server's line about the upload: it has given up on it. */
    const uploadLogged = (from: number, msg: string) => expect.poll(() => logsSince(from).find((l) => l.msg === msg)?.level, { timeout: 15_000 }).toBe('info');
    async function expectNothingCountedOrStored(auth: Record<string, string>, from: number) {
      expect(serious(logsSince(from))).toEqual([]);
      expect(await uploadAnswers(503)).toBe(0);
      expect(await uploadAnswers(500)).toBe(0);
      expect(await listed(auth)).toBe(0);
      expect(await storedObjects()).toEqual([]);
    }

    it('a multipart body that ends inside the file (no final boundary) is 400 malformed-multipart, logged at info, stores nothing', async () => {
      const auth = await signedIn();
      const boundary = `----rampart-${randomUUID()}`;
      // Over a megabyte, so storage has begun writing when the body runs out.
      const body = Buffer.concat([Buffer.from(multipartHead(boundary)), Buffer.alloc(1_500_000, 'a')]);
      const from = suite.rampart.logs.length;
      const answer = await rawRequest(suite.rampart.port, requestHead(auth, `multipart/form-data; boundary=${boundary}`, body.length), body, 'none');
      expect(answer.status, answer.raw).toBe(400);
      expect(answer.raw).toContain('application/problem+json');
      expect(answer.raw).toContain('/problems/malformed-multipart');
      await uploadLogged(from, 'incomplete multipart upload');
      await expectNothingCountedOrStored(auth, from);
    });

    it('a body shorter than its Content-Length, then a half-close, is 400, logged at info, stores nothing', async () => {
      const auth = await signedIn();
      const boundary = `----rampart-${randomUUID()}`;
      const part = Buffer.concat([Buffer.from(multipartHead(boundary)), Buffer.alloc(1_500_000, 'a')]);
      const from = suite.rampart.logs.length;
      const answer = await rawRequest(suite.rampart.port, requestHead(auth, `multipart/form-data; boundary=${boundary}`, part.length + 500_000), part, 'half-close');
      expect(answer.status, answer.raw).toBe(400);
      await uploadLogged(from, 'upload abandoned by the client');
      await expectNothingCountedOrStored(auth, from);
    });

    it('a connection dropped mid-upload gets no answer, is logged at info, stores nothing', async () => {
      const auth = await signedIn();
      const boundary = `----rampart-${randomUUID()}`;
      const part = Buffer.concat([Buffer.from(multipartHead(boundary)), Buffer.alloc(1_500_000, 'b')]);
      const from = suite.rampart.logs.length;
      const answer = await rawRequest(suite.rampart.port, requestHead(auth, `multipart/form-data; boundary=${boundary}`, part.length + 1_000_000), part, 'destroy');
      expect(answer.status, answer.raw).toBeUndefined();
      await uploadLogged(from, 'upload abandoned by the client');
      await expectNothingCountedOrStored(auth, from);
    });

    it('a body whose boundary is not the announced one, or a multipart type without a boundary, is 400 and stores nothing', async () => {
      const auth = await signedIn();
      const boundary = `----rampart-${randomUUID()}`;
      const body = Buffer.concat([Buffer.from(multipartHead(boundary)), Buffer.from('hello there'), Buffer.from(`\r\n--${boundary}--\r\n`)]);
      const from = suite.rampart.logs.length;
      for (const contentType of ['multipart/form-data; boundary=something-else', 'multipart/form-data', 'multipart/form-data; boundary=']) {
        const answer = await rawRequest(suite.rampart.port, requestHead(auth, contentType, body.length), body, 'none');
        expect(answer.status, `${contentType}\n${answer.raw}`).toBe(400);
        expect(answer.raw).toContain('application/problem+json');
      }
      await expectNothingCountedOrStored(auth, from);
    });

    it('a file sent raw (application/octet-stream) is 415 saying to send multipart/form-data', async () => {
      const auth = await signedIn();
      for (const contentType of ['application/octet-stream', 'application/pdf', 'text/plain']) {
        const res = await send(`${suite.rampart.baseUrl}/v1/documents`, { method: 'POST', headers: { ...auth, 'content-type': contentType }, body: Buffer.from('%PDF-1.4 raw bytes') });
        expect(res.status).toBe(415);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        const problem = res.json<{ type: string; detail: string }>();
        expect(problem.type).toBe('/problems/multipart-required');
        expect(problem.detail).toContain('multipart/form-data');
        expect(problem.detail).not.toContain('application/json');
      }
      expect(await listed(auth)).toBe(0);
      expect(await storedObjects()).toEqual([]);
    });
  });
});
