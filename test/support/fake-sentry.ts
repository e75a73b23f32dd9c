import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

// A local server that speaks the parts of Sentry's protocol Rampart uses: envelopes on
// `/api/<project>/envelope/` (what the SDK sends) and the release API (what `rampart release`
// calls). Records everything as received, raw bytes included, so a test can look for secrets
// anywhere in them.

export interface ReceivedEnvelope {
  /** The request body after content-encoding, exactly as the SDK serialised it. */
  raw: Buffer;
  url: string;
  headers: IncomingMessage['headers'];
  header: Record<string, unknown>;
  items: Array<{ header: { type: string; [key: string]: unknown }; payload: Record<string, unknown> }>;
}

/** An `event` item's payload, as much of it as the tests read. */
export interface SentryEvent {
  event_id: string;
  level?: string;
  release?: string;
  environment?: string;
  message?: string | { formatted?: string };
  tags?: Record<string, string>;
  exception?: { values?: Array<{ type?: string; value?: string; stacktrace?: { frames?: Array<{ filename?: string }> } }> };
  request?: Record<string, unknown>;
}

export interface ApiCall {
  method: string;
  path: string;
  authorization: string | undefined;
  body: Buffer;
  contentType: string | undefined;
}

export interface FakeSentry {
  /** `http://<publicKey>@127.0.0.1:<port>/<projectId>` */
  dsn: string;
  url: string;
  envelopes: ReceivedEnvelope[];
  apiCalls: ApiCall[];
  events(): SentryEvent[];
  /** `accept` answers 200; `refuse` answers 500; `hang` never answers. */
  setMode(mode: 'accept' | 'refuse' | 'hang'): void;
  close(): Promise<void>;
}

export async function startFakeSentry(options: { publicKey?: string; projectId?: string } = {}): Promise<FakeSentry> {
  const publicKey = options.publicKey ?? 'publickey';
  const projectId = options.projectId ?? '1';
  const envelopes: ReceivedEnvelope[] = [];
  const apiCalls: ApiCall[] = [];
  let mode: 'accept' | 'refuse' | 'hang' = 'accept';
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const path = (request.url ?? '').split('?')[0]!;
      if (path === `/api/${projectId}/envelope/` && request.method === 'POST') {
        if (mode === 'hang') return;
        const raw = request.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
        envelopes.push({ raw, url: request.url ?? '', headers: request.headers, ...parseEnvelope(raw) });
        if (mode === 'refuse') return void response.writeHead(500).end();
        return void response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      }
      if (path.startsWith('/api/0/')) {
        apiCalls.push({ method: request.method ?? '', path, authorization: request.headers.authorization, body, contentType: request.headers['content-type'] });
        if (request.headers.authorization !== 'Bearer test-auth-token') return void response.writeHead(401, { 'content-type': 'application/json' }).end('{"detail":"Invalid token"}');
        const release = /^\/api\/0\/organizations\/[^/]+\/releases\/$/.exec(path);
        if (release) {
          const { version } = JSON.parse(body.toString('utf8')) as { version: string };
          return void response.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ version, dateCreated: new Date().toISOString() }));
        }
        if (/^\/api\/0\/projects\/[^/]+\/[^/]+\/releases\/[^/]+\/files\/$/.test(path)) {
          return void response.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id: String(apiCalls.length) }));
        }
      }
      response.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    dsn: `http://${publicKey}@127.0.0.1:${port}/${projectId}`,
    url: `http://127.0.0.1:${port}/`,
    envelopes,
    apiCalls,
    events: () => envelopes.flatMap((e) => e.items.filter((i) => i.header.type === 'event').map((i) => i.payload as unknown as SentryEvent)),
    setMode: (next) => void (mode = next),
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Newline-delimited: an envelope header, then per item a header and a payload (of `length` bytes when given). */
export function parseEnvelope(raw: Buffer): Pick<ReceivedEnvelope, 'header' | 'items'> {
  let offset = 0;
  const line = () => {
    const end = raw.indexOf(0x0a, offset);
    const text = raw.subarray(offset, end === -1 ? raw.length : end).toString('utf8');
    offset = end === -1 ? raw.length : end + 1;
    return text;
  };
  const header = JSON.parse(line()) as Record<string, unknown>;
  const items: ReceivedEnvelope['items'] = [];
  while (offset < raw.length) {
    const itemLine = line();
    if (itemLine.trim() === '') continue;
    const itemHeader = JSON.parse(itemLine) as { type: string; length?: number };
    let payload: string;
    if (typeof itemHeader.length === 'number') {
      payload = raw.subarray(offset, offset + itemHeader.length).toString('utf8');
      offset += itemHeader.length + 1;
    } else {
      payload = line();
    }
    items.push({ header: itemHeader, payload: JSON.parse(payload) as Record<string, unknown> });
  }
  return { header, items };
}
