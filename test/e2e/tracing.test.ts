import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/private-postgres.js';
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
