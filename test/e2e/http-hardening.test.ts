import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send, startRampart, type HttpResponse, type RampartProcess } from '../support/rampart-process.js';

const SECURITY_HEADERS: Record<string, RegExp> = {
  'content-security-policy': /default-src 'self'/,
  'x-content-type-options': /^nosniff$/,
  'x-frame-options': /^DENY$/,
  'referrer-policy': /^strict-origin-when-cross-origin$/,
  'permissions-policy': /^geolocation=\(\), microphone=\(\), camera=\(\)$/,
  'cross-origin-opener-policy': /^same-origin$/,
  'cross-origin-resource-policy': /^same-origin$/,
};

function expectSecurityHeaders(res: HttpResponse) {
  for (const [name, pattern] of Object.entries(SECURITY_HEADERS)) expect(res.headers[name], name).toMatch(pattern);
  expect(res.headers['x-powered-by']).toBeUndefined();
}

describe('public HTTP port', () => {
  let rampart: RampartProcess;
  beforeAll(async () => {
    rampart = await startRampart({ env: { CORS_ORIGINS: 'https://app.example.com', BODY_LIMIT_BYTES: '1024' } });
  });
  afterAll(async () => {
    await rampart?.stop();
  });

  it('sends every security header on successes, 404s, and errors', async () => {
    const responses = await Promise.all([
      rampart.request('/health'),
      rampart.request('/no/such/route'),
      rampart.request('/test/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{bad' }),
      rampart.request('/test/boom'),
    ]);
    expect(responses.map((r) => r.status)).toEqual([200, 404, 400, 500]);
    for (const res of responses) expectSecurityHeaders(res);
  });

  it('compiles every route schema right after listening, none failing', async () => {
    const done = await rampart.waitForLog((line) => line.msg === 'route schemas compiled');
    expect(done.failed).toBe(0);
    expect(done.compiled).toBeGreaterThan(20);
    expect(rampart.logs.filter((line) => String(line.msg).includes('does not compile'))).toEqual([]);
  });

  it('does not send HSTS over plain HTTP in development without FORCE_HTTPS', async () => {
    const res = await rampart.request('/health');
    expect(res.headers['strict-transport-security']).toBeUndefined();
  });

  it('echoes a valid X-Correlation-ID and logs it on the request line', async () => {
    const res = await rampart.request('/test/items/7', { headers: { 'x-correlation-id': 'order-42.retry_1' } });
    expect(res.headers['x-correlation-id']).toBe('order-42.retry_1');
    const line = await rampart.waitForLog((l) => l.msg === 'request completed' && l.correlation_id === 'order-42.retry_1');
    expect(line).toMatchObject({ method: 'GET', route: '/test/items/:id', status: 200, level: 'info' });
    expect(typeof line.duration_ms).toBe('number');
    expect(typeof line.time).toBe('string');
  });

  it.each([
    ['too long', 'a'.repeat(65)],
    ['bad characters', 'abc def<script>'],
    ['header injection attempt', 'abc%0d%0aset-cookie:x'],
  ])('replaces an invalid X-Correlation-ID (%s) with a fresh UUID', async (_case, value) => {
    const res = await rampart.request('/health', { headers: { 'x-correlation-id': value } });
    expect(res.headers['x-correlation-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('answers malformed JSON with 400 problem+json', async () => {
    const res = await rampart.request('/test/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name": "x",' });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = res.json();
    expect(problem).toMatchObject({ type: '/problems/malformed-json', title: 'Malformed JSON', status: 400 });
    expect(problem.correlation_id).toBe(res.headers['x-correlation-id']);
    expect(typeof problem.detail).toBe('string');
  });

  it.each([
    ['text/xml', '<a/>'],
    // JSON text under a type a cross-site form may send without a preflight.
    ['text/plain', '{"name":"x","age":1}'],
    ['application/x-www-form-urlencoded', 'name=x&age=1'],
  ])('answers a wrong content type (%s) with 415', async (type, body) => {
    const res = await rampart.request('/test/echo', { method: 'POST', headers: { 'content-type': type }, body });
    expect(res.status).toBe(415);
    expect(res.json()).toMatchObject({ type: '/problems/unsupported-media-type', status: 415 });
  });

  it('answers a body over the limit with 413', async () => {
    const body = JSON.stringify({ name: 'x'.repeat(2048), age: 1 });
    const res = await rampart.request('/test/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(res.status).toBe(413);
    expect(res.json()).toMatchObject({ type: '/problems/payload-too-large', status: 413 });
  });

  it('answers an unknown route with 404 problem+json', async () => {
    const res = await rampart.request('/v1/nothing-here?x=1');
    expect(res.status).toBe(404);
    expect(res.json()).toMatchObject({ type: '/problems/not-found', status: 404, detail: 'No route matches GET /v1/nothing-here.' });
  });

  it('lists every failing field of a schema violation with 422', async () => {
    const res = await rampart.request('/test/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: '', age: -1, extra: true }) });
    expect(res.status).toBe(422);
    const problem = res.json<{ type: string; errors: Array<{ field: string; message: string }> }>();
    expect(problem.type).toBe('/problems/validation-failed');
    const fields = problem.errors.map((e) => e.field).sort();
    expect(fields).toEqual(['body', 'body/age', 'body/name']);
  });

  it.each([
    ['body', 422, '/test/orders/7', {}, { quantity: 0 }, 'body/quantity'],
    ['query string', 400, '/test/orders/7?sort=sideways', {}, { quantity: 1 }, 'querystring/sort'],
    ['path parameters', 400, '/test/orders/seven', {}, { quantity: 1 }, 'params/id'],
    ['headers', 400, '/test/orders/7', { 'x-shop': 'SHOP 1' }, { quantity: 1 }, 'headers/x-shop'],
  ])('answers a schema violation in the %s with %i validation-failed, naming the field', async (_part, status, url, headers, body, field) => {
    const res = await rampart.request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ type: '/problems/validation-failed', title: 'Validation failed', status, errors: [expect.objectContaining({ field })] });
    const valid = await rampart.request('/test/orders/7?sort=asc', { method: 'POST', headers: { 'content-type': 'application/json', 'x-shop': 'shop' }, body: JSON.stringify({ quantity: 1 }) });
    expect(valid.status).toBe(200);
  });

  it('accepts a valid body', async () => {
    const res = await rampart.request('/test/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Ada', age: 36 }) });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ received: { name: 'Ada', age: 36 } });
  });

  it('never leaks stack traces or internal messages in a 500', async () => {
    const res = await rampart.request('/test/boom');
    expect(res.status).toBe(500);
    expect(res.body).not.toMatch(/exploded|postgres:|at .*\.m?js|stack/i);
    expect(res.json()).toMatchObject({ type: '/problems/internal-error', status: 500 });
    const logged = await rampart.waitForLog((l) => l.msg === 'unhandled error' && l.correlation_id === res.headers['x-correlation-id']);
    expect(JSON.stringify(logged)).toMatch(/exploded/);
  });

  it('serves the internal metrics on the metrics port only', async () => {
    expect((await rampart.request('/metrics')).status).toBe(404);
    await rampart.request('/test/items/123');
    await rampart.request('/test/items/456');
    const metrics = (await send(rampart.metricsUrl)).body;
    expect(metrics).toMatch(/http_requests_total\{method="GET",route="\/test\/items\/:id",status="200"\} [2-9]/);
    expect(metrics).not.toMatch(/\/test\/items\/123/);
    for (const le of ['0.1', '0.5', '1', '3']) expect(metrics).toContain(`http_request_duration_seconds_bucket{le="${le}",method="GET",route="/test/items/:id",status="200"}`);
    expect(metrics).toMatch(/^nodejs_eventloop_lag_seconds /m);
    expect(metrics).toMatch(/^process_resident_memory_bytes /m);
    expect(metrics).toMatch(/^nodejs_heap_size_used_bytes /m);
    expect(metrics).toMatch(/^db_pool_connections\{state="active"\}/m);
  });

  it('allows only configured CORS origins', async () => {
    const allowed = await rampart.request('/health', { headers: { origin: 'https://app.example.com' } });
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(allowed.headers['access-control-allow-credentials']).toBe('true');
    const other = await rampart.request('/health', { headers: { origin: 'https://evil.example.net' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await rampart.request('/test/echo', { method: 'OPTIONS', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-methods']).toMatch(/POST/);
  });

  it('serves static assets with 7-day immutable caching', async () => {
    const res = await rampart.request('/assets/rampart.svg');
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('public, max-age=604800, immutable');
    expect(res.headers['content-type']).toMatch(/^image\/svg\+xml/);
    expectSecurityHeaders(res);
    expect((await rampart.request('/assets/../package.json')).status).toBe(404);
  });

  it.each([
    ['the assets directory', '/assets/'],
    ['a path climbing out of it', '/assets/..%2fpackage.json'],
    ['a dotfile', '/assets/.env'],
    ['a file that does not exist', '/assets/nope.js'],
  ])('answers %s with a 404 problem that says where assets are', async (_case, url) => {
    const res = await rampart.request(url);
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = res.json<{ type: string; detail: string }>();
    expect(problem.type).toBe('/problems/not-found');
    expect(problem.detail).toContain(url.slice(0, 8));
    expectSecurityHeaders(res);
  });

  it('answers GET / with the service, its version and links to the docs and probes, each of which answers', async () => {
    const res = await rampart.request('/');
    expect(res.status).toBe(200);
    const index = res.json<{ service: string; version: string; links: Record<string, string> }>();
    expect(index).toMatchObject({ service: 'rampart', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect(Object.keys(index.links)).toEqual(['docs', 'openapi', 'health', 'readiness']);
    for (const link of Object.values(index.links)) expect((await rampart.request(link)).status, link).toBe(200);
    expectSecurityHeaders(res);
  });

  it('compresses large static and docs responses for clients that accept it, and leaves API JSON to the proxy', async () => {
    const asset = await rampart.request('/docs/static/swagger-ui-bundle.js', { headers: { 'accept-encoding': 'gzip' } });
    expect(asset.status).toBe(200);
    expect(asset.headers['content-encoding']).toBe('gzip');
    const openapi = await rampart.request('/openapi.json', { headers: { 'accept-encoding': 'br' } });
    expect(openapi.headers['content-encoding']).toBe('br');
    const plain = await rampart.request('/docs/static/swagger-ui-bundle.js');
    expect(plain.headers['content-encoding']).toBeUndefined();
    const api = await rampart.request('/test/big', { headers: { 'accept-encoding': 'gzip' } });
    expect(api.headers['content-encoding']).toBeUndefined();
  });

  it('writes only JSON lines to stdout, each with time, level and msg', () => {
    expect(rampart.logs.length).toBeGreaterThan(5);
    for (const line of rampart.logs) {
      expect(line.level).not.toBe('unparsed');
      expect(line).toHaveProperty('time');
      expect(line).toHaveProperty('msg');
    }
  });
});
