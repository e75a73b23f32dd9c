import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseTargets, type DatabaseTarget } from '../support/databases.js';
import { startFakeSentry, type FakeSentry, type SentryEvent } from '../support/fake-sentry.js';
import { freePort } from '../support/private-postgres.js';
import { fixturePlugin, repoRoot, runCli, send, startRampart, type RampartProcess } from '../support/rampart-process.js';

// Rampart runs as the real process with the real Sentry SDK; a local server speaks the
// envelope protocol and keeps every byte it receives.

const jobsPlugin = join(repoRoot, 'test', 'fixtures', 'test-jobs.mjs');
const json = (body: unknown, headers: Record<string, string> = {}) => ({ method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
const docsPassword = `docs-pw-${randomBytes(8).toString('hex')}`;
const appSecret = `app-secret-${randomBytes(16).toString('hex')}`;
const correlation = (what: string) => `${what}-${randomBytes(4).toString('hex')}`;
const messageOf = (event: SentryEvent) => (typeof event.message === 'string' ? event.message : event.message?.formatted) ?? event.exception?.values?.at(-1)?.value ?? '';

async function eventTagged(sentry: FakeSentry, tag: string, value: string, timeout = 20_000): Promise<SentryEvent> {
  await expect.poll(() => sentry.events().some((e) => e.tags?.[tag] === value), { timeout }).toBe(true);
  return sentry.events().find((e) => e.tags?.[tag] === value)!;
}

/** A collector that accepts every export: tracing on, so reports carry the trace id. Keeps the trace ids it received. */
async function startOtlpSink(): Promise<{ url: string; traceIds: Set<string>; close(): Promise<void> }> {
  const traceIds = new Set<string>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      for (const [, id] of Buffer.concat(chunks).toString('utf8').matchAll(/"traceId":"([0-9a-f]{32})"/g)) traceIds.add(id!);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, traceIds, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe.each(databaseTargets())('error reports to a Sentry-protocol server, on $name', (factory) => {
  let sentry: FakeSentry;
  let otlp: Awaited<ReturnType<typeof startOtlpSink>>;
  let target: DatabaseTarget | undefined;
  let rampart: RampartProcess;
  let buildSha: string;

  beforeAll(async () => {
    if (!factory.available) return;
    sentry = await startFakeSentry();
    otlp = await startOtlpSink();
    target = await factory.create();
    rampart = await startRampart({
      args: ['serve', '--with-worker', '--plugin', fixturePlugin, '--plugin', jobsPlugin],
      env: {
        DATABASE_URL: target.url,
        SENTRY_DSN: sentry.dsn,
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        DOCS_USER: 'docs',
        DOCS_PASSWORD: docsPassword,
        APP_SECRET: appSecret,
        JOB_POLL_INTERVAL_MS: '100',
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
    });
    buildSha = /^build_info\{[^}]*git_sha="([^"]+)"/m.exec((await send(rampart.metricsUrl)).body)![1]!;
  }, 120_000);

  afterAll(async () => {
    await rampart?.stop();
    await target?.cleanup();
    await sentry?.close();
    await otlp?.close();
  });

  it('reports a 5xx with the build\'s release, the environment, the correlation and trace ids, and none of the request\'s credentials or any secret', async (ctx) => {
    ctx.skip(!factory.available, factory.skipReason);
    const id = correlation('boom');
    const bodyPassword = `body-pw-${randomBytes(8).toString('hex')}`;
    const bearer = `bearer-${randomBytes(12).toString('hex')}`;
    const apiKey = `rk_live_${randomBytes(19).toString('hex')}`;
    const cookie = `sess-${randomBytes(8).toString('hex')}`;
    const queryToken = `qt-${randomBytes(8).toString('hex')}`;
    const response = await rampart.request(`/test/boom?access_token=${queryToken}`, json({ email: 'ann@example.com', password: bodyPassword }, {
      'x-correlation-id': id,
      authorization: `Bearer ${bearer}`,
      'x-api-key': apiKey,
      cookie: `session=${cookie}`,
    }));
    expect(response.status).toBe(500);

    const event = await eventTagged(sentry, 'correlation_id', id);
    expect(buildSha).toMatch(/^[0-9a-f]{40}(-dirty)?$/);
    expect(event.release).toBe(buildSha);
    expect(event.environment).toBe('development');
    const line = await rampart.waitForLog((l) => l.correlation_id === id && l.msg === 'request completed');
    expect(line.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(event.tags).toMatchObject({ correlation_id: id, trace_id: line.trace_id, 'http.route': '/test/boom', 'http.method': 'POST', 'http.status_code': '500' });
    expect(event.request).toEqual({ method: 'POST', url: '/test/boom' });
    // Rampart's own tracing keeps exporting with the Sentry SDK loaded: the reported trace arrives at the collector.
    await expect.poll(() => otlp.traceIds.has(String(line.trace_id)), { timeout: 15_000 }).toBe(true);
    // What the error said survives, without the credentials in it.
    expect(messageOf(event)).toContain('upstream refused Bearer [redacted] with key [redacted]');
    // Frames are named as the uploaded source maps are (`rampart release`).
    const frames = event.exception!.values!.flatMap((value) => value.stacktrace?.frames ?? []).map((frame) => frame.filename);
    expect(frames).toContain('app:///test/fixtures/test-routes.mjs');

    const sent = sentry.envelopes.map((envelope) => `${envelope.url}\n${envelope.raw.toString('utf8')}`).join('\n');
    for (const secret of [bodyPassword, bearer, apiKey, cookie, queryToken, docsPassword, appSecret]) expect(sent).not.toContain(secret);
    expect(sent).not.toContain('ann@example.com');
  });

  it('never reports a client\'s 4xx', async (ctx) => {
    ctx.skip(!factory.available, factory.skipReason);
    const clientIds = [correlation('invalid'), correlation('missing'), correlation('malformed')];
    expect((await rampart.request('/test/echo', json({ name: '' }, { 'x-correlation-id': clientIds[0]! }))).status).toBe(422);
    expect((await rampart.request('/no/such/route', { headers: { 'x-correlation-id': clientIds[1]! } })).status).toBe(404);
    expect((await rampart.request('/test/echo', { method: 'POST', headers: { 'content-type': 'application/json', 'x-correlation-id': clientIds[2]! }, body: '{"name":' })).status).toBe(400);
    // A 5xx sent after them arrives; by then any report of theirs would have too.
    const marker = correlation('after');
    await rampart.request('/test/boom', { headers: { 'x-correlation-id': marker } });
    await eventTagged(sentry, 'correlation_id', marker);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(sentry.events().filter((e) => clientIds.includes(e.tags?.correlation_id ?? ''))).toEqual([]);
  });

  it('reports a job that fails for the last time, in the trace of the request that enqueued it', async (ctx) => {
    ctx.skip(!factory.available, factory.skipReason);
    const id = correlation('job');
    expect((await rampart.request('/test/jobs', json({ type: 'test.fail', payload: {} }, { 'x-correlation-id': id }))).status).toBe(202);
    const event = await eventTagged(sentry, 'correlation_id', id);
    const line = await rampart.waitForLog((l) => l.correlation_id === id && l.msg === 'request completed');
    expect(event.tags).toMatchObject({ 'job.type': 'test.fail', 'job.attempt': '1', trace_id: line.trace_id });
    expect(event.release).toBe(buildSha);
    expect(messageOf(event)).toContain('this job always fails');
  });

  it('tells /readiness what happened to the last report, never the DSN', async (ctx) => {
    ctx.skip(!factory.available, factory.skipReason);
    const readiness = await rampart.request('/readiness');
    const sentrySection = readiness.json<{ observability: { sentry: { configured: boolean; transport: { ok: boolean; details: string } } } }>().observability.sentry;
    expect(sentrySection).toMatchObject({ configured: true, transport: { ok: true } });
    expect(sentrySection.transport.details).toMatch(/^last report accepted at /);
    expect(readiness.body).not.toContain('publickey');
    expect(rampart.stdout()).not.toContain(sentry.dsn);
  });
});

describe('a Sentry that is down or never answers', () => {
  const serveAndHammer = async (dsn: string) => {
    // Shedding off: 90 requests at once on a busy CI machine may cross the event-loop bound,
    // and a shed 503 is not what this test is about.
    const rampart = await startRampart({ env: { SENTRY_DSN: dsn, LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0' } });
    try {
      // More failures than the SDK queues (64): the rest are dropped, never waited for.
      const statuses = await Promise.all(Array.from({ length: 90 }, (_, i) => rampart.request(i % 3 === 0 ? '/test/items/1' : '/test/boom').then((r) => r.status)));
      expect(statuses).toEqual(Array.from({ length: 90 }, (_, i) => (i % 3 === 0 ? 200 : 500)));
      let details = '';
      await expect.poll(async () => {
        const transport = (await rampart.request('/readiness')).json<{ observability: { sentry: { transport: { ok: boolean; details: string } } } }>().observability.sentry.transport;
        details = transport.details;
        return transport.ok;
      }, { timeout: 20_000 }).toBe(false);
      // Every error line is a 500's own; none is about Sentry. Lines leave in batches: wait for them.
      const errorLines = () => rampart.logs.filter((l) => l.level === 'error' || l.level === 'fatal').map((l) => l.msg);
      const expected = statuses.filter((s) => s === 500).map(() => 'unhandled error');
      await expect.poll(() => errorLines().length, { timeout: 10_000 }).toBeGreaterThanOrEqual(expected.length);
      expect(errorLines()).toEqual(expected);
      return { details, exitCode: await rampart.stop() };
    } finally {
      await rampart.stop();
    }
  };

  it('answers every request as usual while nothing listens at the DSN, and readiness says so', async () => {
    const { details, exitCode } = await serveAndHammer(`http://publickey@127.0.0.1:${await freePort()}/1`);
    expect(details).toMatch(/connection refused/);
    expect(exitCode).toBe(0);
  }, 120_000);

  it('answers every request as usual while Sentry accepts connections and never answers, and stops on time', async () => {
    const sentry = await startFakeSentry();
    sentry.setMode('hang');
    try {
      const { details, exitCode } = await serveAndHammer(sentry.dsn);
      expect(details).toMatch(/no answer within 5000 ms/);
      expect(exitCode).toBe(0);
    } finally {
      await sentry.close();
    }
  }, 120_000);
});

describe('an error nothing caught', () => {
  it('is reported as fatal with RAMPART_RELEASE, then ends the process with exit 1 as it would without Sentry', async () => {
    const sentry = await startFakeSentry();
    const rampart = await startRampart({ env: { SENTRY_DSN: sentry.dsn, RAMPART_RELEASE: 'shop-2024.12.1' } });
    try {
      expect((await rampart.request('/test/crash-process', { method: 'POST' })).status).toBe(200);
      expect(await rampart.exited).toBe(1);
      const event = sentry.events().find((e) => messageOf(e).includes('nothing caught this'));
      expect(event).toMatchObject({ level: 'fatal', release: 'shop-2024.12.1', environment: 'development', tags: { mechanism: 'uncaughtException' } });
      expect(rampart.logs.some((l) => l.level === 'fatal' && l.msg === 'unhandled error; exiting')).toBe(true);
    } finally {
      await rampart.stop();
      await sentry.close();
    }
  }, 60_000);
});

describe('SENTRY_DSN from the secrets chain', () => {
  it('follows a rotation without a restart, and keeps the DSN in use when the new one is malformed', async () => {
    const [first, second] = [await startFakeSentry({ publicKey: 'firstkey' }), await startFakeSentry({ publicKey: 'secondkey' })];
    const secretsDir = mkdtempSync(join(tmpdir(), 'rampart-sentry-secrets-'));
    writeFileSync(join(secretsDir, 'sentry_dsn'), first.dsn);
    const rampart = await startRampart({ env: { SECRETS_PROVIDERS: 'file', SECRETS_DIR: secretsDir, SECRETS_REFRESH_S: '0' } });
    try {
      const before = correlation('before');
      await rampart.request('/test/boom', { headers: { 'x-correlation-id': before } });
      await eventTagged(first, 'correlation_id', before);

      writeFileSync(join(secretsDir, 'sentry_dsn'), second.dsn);
      rampart.child.kill('SIGHUP');
      await rampart.waitForLog((l) => l.msg === 'SENTRY_DSN replaced');
      const after = correlation('after');
      await rampart.request('/test/boom', { headers: { 'x-correlation-id': after } });
      await eventTagged(second, 'correlation_id', after);
      expect(first.events().some((e) => e.tags?.correlation_id === after)).toBe(false);

      const malformed = 'https://second.example/no-key-here';
      writeFileSync(join(secretsDir, 'sentry_dsn'), malformed);
      rampart.child.kill('SIGHUP');
      const refused = await rampart.waitForLog((l) => l.msg === 'rotated SENTRY_DSN is not a valid DSN; keeping the one in use');
      expect(JSON.stringify(refused)).not.toContain('second.example');
      const still = correlation('still');
      await rampart.request('/test/boom', { headers: { 'x-correlation-id': still } });
      await eventTagged(second, 'correlation_id', still);
      expect(rampart.stdout()).not.toContain(malformed);
    } finally {
      await rampart.stop();
      rmSync(secretsDir, { recursive: true, force: true });
      await first.close();
      await second.close();
    }
  }, 120_000);
});

describe('a bad SENTRY_DSN', () => {
  const bad = {
    'no public key': 'https://sentry.example.com/42',
    'a scheme other than http(s)': 'ftp://key@sentry.example.com/42',
    'no project id': 'https://key@sentry.example.com/',
    'not a URL': 'key@sentry.example.com/42',
  };

  it.each(Object.entries(bad))('with %s stops start-up with exit 2, naming SENTRY_DSN and never quoting it', async (_case, dsn) => {
    const result = await runCli(['serve'], { SENTRY_DSN: dsn });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^ {2}SENTRY_DSN: /m);
    expect(`${result.stdout}${result.stderr}`).not.toContain('sentry.example.com');
  }, 60_000);

  it('stops start-up the same way when it comes from the secrets chain', async () => {
    const secretsDir = mkdtempSync(join(tmpdir(), 'rampart-sentry-secrets-'));
    try {
      writeFileSync(join(secretsDir, 'SENTRY_DSN'), bad['no project id']);
      const result = await runCli(['serve'], { SECRETS_PROVIDERS: 'file', SECRETS_DIR: secretsDir });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/SENTRY_DSN: does not end with a numeric project id/);
      expect(result.stderr).not.toContain('sentry.example.com');
    } finally {
      rmSync(secretsDir, { recursive: true, force: true });
    }
  }, 60_000);
});
