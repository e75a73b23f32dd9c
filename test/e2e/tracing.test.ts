import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authEnv, bearer, logIn, signUp, uniqueEmail } from '../support/auth-client.js';
import { createPGliteTarget, type DatabaseTarget } from '../support/databases.js';
import { uploadDocument } from '../support/documents-client.js';
import { startFakeS3, type FakeS3 } from '../support/fake-s3.js';
import { freePort } from '../support/private-postgres.js';
import { pdfWithText } from '../support/sample-documents.js';
import { startSmtpServer } from '../support/smtp-server.js';
import { fixturePlugin, repoRoot, send, startRampart, type RampartProcess } from '../support/rampart-process.js';

// A local OTLP/HTTP receiver speaks the protocol the real exporter sends (JSON over HTTP,
// as `@opentelemetry/exporter-trace-otlp-http` does); Rampart runs as the real process.
interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Record<string, unknown>;
  service: string;
}

interface Receiver {
  url: string;
  spans: ReceivedSpan[];
  contentTypes: Set<string>;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const spans: ReceivedSpan[] = [];
  const contentTypes = new Set<string>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      contentTypes.add(String(request.headers['content-type']));
      if (request.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpTraces;
        for (const resource of body.resourceSpans ?? []) {
          const service = String(attributeMap(resource.resource?.attributes)['service.name']);
          for (const scope of resource.scopeSpans ?? []) for (const span of scope.spans ?? []) spans.push({ ...span, attributes: attributeMap(span.attributes), service });
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, contentTypes, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

interface OtlpTraces {
  resourceSpans?: Array<{
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: Array<{ spans?: Array<Omit<ReceivedSpan, 'attributes' | 'service'> & { attributes?: OtlpAttribute[] }> }>;
  }>;
}
type OtlpAttribute = { key: string; value: Record<string, unknown> };
const attributeMap = (attributes: OtlpAttribute[] = []) => Object.fromEntries(attributes.map((a) => [a.key, Object.values(a.value)[0]]));

const jobsPlugin = join(repoRoot, 'test', 'fixtures', 'test-jobs.mjs');
const TRUSTED_PROXY = '127.0.0.2';

describe('traces over OTLP/HTTP', () => {
  let receiver: Receiver;
  let rampart: RampartProcess;

  beforeAll(async () => {
    receiver = await startReceiver();
    rampart = await startRampart({
      args: ['serve', '--with-worker', '--plugin', fixturePlugin, '--plugin', jobsPlugin],
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '100', TRUSTED_PROXIES: `${TRUSTED_PROXY}/32`, JOB_POLL_INTERVAL_MS: '100' },
    });
  }, 60_000);

  afterAll(async () => {
    await rampart?.stop();
    await receiver?.close();
  });

  const spanNamed = async (name: string, traceId?: string) => {
    await expect.poll(() => receiver.spans.some((s) => s.name === name && (!traceId || s.traceId === traceId)), { timeout: 15_000 }).toBe(true);
    return receiver.spans.find((s) => s.name === name && (!traceId || s.traceId === traceId))!;
  };

  it('sends a request\'s span, named by its route pattern, with the trace id its log line shows, and its statements as children without values', async () => {
    const correlationId = `trace-${randomBytes(4).toString('hex')}`;
    expect((await rampart.request('/test/kysely', { headers: { 'x-correlation-id': correlationId } })).status).toBe(200);
    const line = await rampart.waitForLog((l) => l.correlation_id === correlationId && l.msg === 'request completed');
    expect(line.trace_id).toMatch(/^[0-9a-f]{32}$/);
    const server = await spanNamed('GET /test/kysely', String(line.trace_id));
    expect(server.spanId).toBe(line.span_id);
    expect(server.attributes['http.route']).toBe('/test/kysely');
    expect(server.attributes['http.response.status_code']).toBe(200);
    expect(server.service).toBe('rampart-web');
    await expect.poll(() => receiver.spans.filter((s) => s.traceId === line.trace_id && s.parentSpanId === server.spanId).map((s) => s.attributes['db.query.text']), { timeout: 15_000 })
      .toContain('select 1 as one');
    expect(receiver.contentTypes).toContain('application/json');
  });

  it('names no raw path: a URL with an id becomes its route pattern', async () => {
    const id = randomBytes(6).toString('hex');
    await rampart.request(`/test/items/${id}`);
    await spanNamed('GET /test/items/:id');
    expect(receiver.spans.some((s) => s.name.includes(id))).toBe(false);
  });

  it('continues a traceparent from a trusted proxy and starts a new trace for anyone else', async () => {
    const traceId = randomBytes(16).toString('hex');
    const parentId = randomBytes(8).toString('hex');
    const traceparent = `00-${traceId}-${parentId}-01`;
    await rampart.request('/test/items/from-proxy', { headers: { traceparent }, localAddress: TRUSTED_PROXY });
    const continued = await spanNamed('GET /test/items/:id', traceId);
    expect(continued.parentSpanId).toBe(parentId);

    const forgedTrace = randomBytes(16).toString('hex');
    const correlationId = `forged-${randomBytes(4).toString('hex')}`;
    await rampart.request('/test/items/from-client', { headers: { traceparent: `00-${forgedTrace}-${parentId}-01`, 'x-correlation-id': correlationId }, localAddress: '127.0.0.3' });
    const line = await rampart.waitForLog((l) => l.correlation_id === correlationId && l.msg === 'request completed');
    expect(line.trace_id).not.toBe(forgedTrace);
    await spanNamed('GET /test/items/:id', String(line.trace_id));
    expect(receiver.spans.some((s) => s.traceId === forgedTrace)).toBe(false);
  });

  it('puts the job a request enqueued into the same trace, and its log lines carry the trace id', async () => {
    const key = randomBytes(6).toString('hex');
    const correlationId = `job-${key}`;
    const response = await rampart.request('/test/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-correlation-id': correlationId },
      body: JSON.stringify({ type: 'test.effect', payload: { key } }),
    });
    expect(response.status).toBe(202);
    const requestLine = await rampart.waitForLog((l) => l.correlation_id === correlationId && l.msg === 'request completed');
    const jobSpan = await spanNamed('job test.effect', String(requestLine.trace_id));
    expect(jobSpan.attributes['job.type']).toBe('test.effect');
    const jobLine = await rampart.waitForLog((l) => l.msg === 'effect job running' && l.key === key);
    expect(jobLine.trace_id).toBe(requestLine.trace_id);
    expect(jobLine.correlation_id).toBe(correlationId);
  });

  it('reports the exporter in readiness and counts exported spans', async () => {
    const readiness = (await rampart.request('/readiness')).json<{ observability: { otel: { configured: boolean; exporter: { ok: boolean } } } }>();
    expect(readiness.observability.otel).toMatchObject({ configured: true, exporter: { ok: true } });
    expect((await send(rampart.metricsUrl)).body).toMatch(/^otel_spans_exported_total [1-9]\d*$/m);
  });
});

describe('traces sampled at a ratio', () => {
  let receiver: Receiver;
  let rampart: RampartProcess;

  beforeAll(async () => {
    receiver = await startReceiver();
    rampart = await startRampart({
      args: ['serve', '--plugin', fixturePlugin],
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5', TRUSTED_PROXIES: `${TRUSTED_PROXY}/32` },
    });
  }, 60_000);

  afterAll(async () => {
    await rampart?.stop();
    await receiver?.close();
  });

  it('records about that share of new traces, and exactly the sampled ones carry trace ids in their log lines', async () => {
    const tag = randomBytes(4).toString('hex');
    const N = 200;
    for (let i = 0; i < N; i++) await rampart.request(`/test/items/${i}`, { headers: { 'x-correlation-id': `ratio-${tag}-${i}` } });
    const lines = await Promise.all(Array.from({ length: N }, (_, i) => rampart.waitForLog((l) => l.correlation_id === `ratio-${tag}-${i}` && l.msg === 'request completed')));
    const logged = new Set(lines.filter((l) => l.trace_id !== undefined).map((l) => String(l.trace_id)));
    // 200 coin tosses at 0.5: 100 ± 7 (one standard deviation); 60–140 is more than five.
    expect(logged.size).toBeGreaterThan(60);
    expect(logged.size).toBeLessThan(140);
    await expect.poll(() => receiver.spans.filter((s) => logged.has(s.traceId)).length, { timeout: 15_000 }).toBe(logged.size);
    // Nothing else of these requests was exported: an unsampled request has no span at all.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.spans.filter((s) => s.name === 'GET /test/items/:id' && !logged.has(s.traceId))).toEqual([]);
  });

  it('follows the sampled flag of a trusted proxy\'s traceparent', async () => {
    const sampled = Array.from({ length: 5 }, () => randomBytes(16).toString('hex'));
    const unsampled = Array.from({ length: 5 }, () => randomBytes(16).toString('hex'));
    const parentId = randomBytes(8).toString('hex');
    for (const traceId of sampled) await rampart.request('/test/items/sampled', { headers: { traceparent: `00-${traceId}-${parentId}-01` }, localAddress: TRUSTED_PROXY });
    for (const traceId of unsampled) await rampart.request('/test/items/unsampled', { headers: { traceparent: `00-${traceId}-${parentId}-00` }, localAddress: TRUSTED_PROXY });
    await expect.poll(() => sampled.filter((id) => receiver.spans.some((s) => s.traceId === id)).length, { timeout: 15_000 }).toBe(5);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.spans.filter((s) => unsampled.includes(s.traceId))).toEqual([]);
  });
});

describe('outgoing calls as spans: S3 requests and SMTP sends', () => {
  const SMTP_PASSWORD = `smtp-pass-${randomBytes(6).toString('hex')}`;
  let receiver: Receiver;
  let s3: FakeS3;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let target: DatabaseTarget;
  let rampart: RampartProcess;
  let auth: Record<string, string>;
  let email: string;

  beforeAll(async () => {
    receiver = await startReceiver();
    s3 = await startFakeS3();
    smtp = await startSmtpServer('accept');
    target = await createPGliteTarget();
    rampart = await startRampart({
      args: ['serve', '--with-worker'],
      env: authEnv(target, {
        ...s3.env,
        SMTP_URL: `smtp://mailer:${SMTP_PASSWORD}@127.0.0.1:${smtp.port}`,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_BSP_SCHEDULE_DELAY: '100',
        JOB_POLL_INTERVAL_MS: '100',
      }),
    });
    email = uniqueEmail('traced');
    await signUp(rampart, email);
    auth = bearer((await logIn(rampart, email)).access_token);
  }, 60_000);

  afterAll(async () => {
    await rampart?.stop();
    await target?.cleanup();
    await Promise.all([receiver?.close(), s3?.close(), smtp?.close()]);
  });

  const traceOf = async (correlationId: string) => String((await rampart.waitForLog((l) => l.correlation_id === correlationId && l.msg === 'request completed')).trace_id);
  const spanIn = async (traceId: string, name: string) => {
    await expect.poll(() => receiver.spans.some((s) => s.traceId === traceId && s.name === name), { timeout: 15_000 }).toBe(true);
    return receiver.spans.find((s) => s.traceId === traceId && s.name === name)!;
  };

  it('an upload\'s S3 request is a client span of the request that stored it', async () => {
    const correlationId = `upload-${randomBytes(4).toString('hex')}`;
    const res = await uploadDocument(rampart, { ...auth, 'x-correlation-id': correlationId }, 'traced.pdf', pdfWithText('Traced okapi'));
    expect(res.status, res.body).toBe(201);
    const traceId = await traceOf(correlationId);
    const put = await spanIn(traceId, 'S3 PutObject');
    expect(put.attributes).toMatchObject({ 'rpc.service': 'S3', 'rpc.method': 'PutObject', 'http.request.method': 'PUT', 'server.address': '127.0.0.1' });
    const server = await spanIn(traceId, 'POST /v1/documents');
    expect(put.parentSpanId).toBe(server.spanId);
    // The object key (the document's id) is no attribute: keys are data, not span names.
    expect(JSON.stringify(put.attributes)).not.toContain(res.json<{ id: string }>().id);
  });

  it('the reset mail a request enqueued goes out over SMTP inside the job\'s span, in the request\'s trace, without the relay\'s credentials', async () => {
    const correlationId = `forgot-${randomBytes(4).toString('hex')}`;
    const res = await rampart.request('/v1/auth/password/forgot', { method: 'POST', headers: { 'content-type': 'application/json', 'x-correlation-id': correlationId }, body: JSON.stringify({ email }) });
    expect(res.status, res.body).toBe(202);
    const traceId = await traceOf(correlationId);
    const send = await spanIn(traceId, 'smtp send');
    expect(send.attributes).toMatchObject({ 'network.protocol.name': 'smtp', 'server.address': '127.0.0.1' });
    const job = receiver.spans.find((s) => s.traceId === traceId && s.spanId === send.parentSpanId);
    expect(job?.name).toMatch(/^job /);
    expect(smtp.received.length).toBeGreaterThan(0);
    expect(JSON.stringify(receiver.spans)).not.toContain(SMTP_PASSWORD);
  });
});

describe('traces while the collector is down', () => {
  let rampart: RampartProcess;

  beforeAll(async () => {
    // Nothing listens there: every export fails at once.
    const closedPort = await freePort();
    rampart = await startRampart({
      args: ['serve', '--plugin', fixturePlugin],
      env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${closedPort}/v1/traces`, OTEL_BSP_SCHEDULE_DELAY: '50', OTEL_BSP_MAX_QUEUE_SIZE: '5', OTEL_EXPORTER_OTLP_TIMEOUT: '500' },
    });
  }, 60_000);

  afterAll(async () => {
    await rampart?.stop();
  });

  it('answers every request, drops what it cannot queue, counts it, and says so in readiness', async () => {
    const responses = await Promise.all(Array.from({ length: 60 }, (_, i) => rampart.request(`/test/items/${i}`)));
    expect(responses.map((r) => r.status)).toEqual(responses.map(() => 200));
    await expect.poll(async () => {
      const metrics = (await send(rampart.metricsUrl)).body;
      const dropped = (reason: string) => Number(new RegExp(`^otel_spans_dropped_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0);
      return dropped('queue_full') > 0 && dropped('export_failed') > 0;
    }, { timeout: 15_000 }).toBe(true);
    const readiness = (await rampart.request('/readiness')).json<{ status: string; observability: { otel: { exporter: { ok: boolean; details: string } } } }>();
    expect(readiness.observability.otel.exporter.ok).toBe(false);
    // Observability is not a dependency of serving: the instance stays ready.
    expect(readiness.status).toBe('ok');
    expect(rampart.logs.filter((l) => l.level === 'error')).toEqual([]);
  });
});

describe('tracing not configured', () => {
  it('loads no OpenTelemetry SDK and writes no trace fields', async () => {
    const rampart = await startRampart({ args: ['serve', '--plugin', fixturePlugin], env: { NODE_DEBUG: '' } });
    try {
      const correlationId = `plain-${randomBytes(4).toString('hex')}`;
      await rampart.request('/test/items/1', { headers: { 'x-correlation-id': correlationId } });
      const line = await rampart.waitForLog((l) => l.correlation_id === correlationId && l.msg === 'request completed');
      expect(line.trace_id).toBeUndefined();
      const readiness = (await rampart.request('/readiness')).json<{ observability: { otel: unknown } }>();
      expect(readiness.observability.otel).toEqual({ configured: false });
      expect((await send(rampart.metricsUrl)).body).not.toMatch(/otel_spans/);
    } finally {
      await rampart.stop();
    }
  });
});
