import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authEnv, bearer, PASSWORD, uniqueEmail, type TokenPair } from '../support/auth-client.js';
import { databaseTargets, type DatabaseTarget } from '../support/databases.js';
import { startPrivateRedis, startPrivateSentinelGroup, type PrivateRedis, type PrivateSentinelGroup } from '../support/private-redis.js';
import { startRampart, type HttpResponse, type RampartProcess } from '../support/rampart-process.js';

// Redis that dies under a running instance: a private server on a free port (never the
// shared one), killed and brought back while requests keep coming.
const postgres = databaseTargets().find((t) => t.name === 'postgres')!;

const limitedEnv = (target: DatabaseTarget, redis: Record<string, string>) => authEnv(target, {
  ...redis,
  REDIS_KEY_PREFIX: `test:${randomBytes(6).toString('hex')}:`,
  RATE_LIMIT_ENABLED: 'true',
  RATE_LIMIT_API_PER_MIN: '20',
  RATE_LIMIT_AUTH_PER_MIN: '10',
});

const post = (rampart: RampartProcess, path: string, body: unknown, localAddress: string, headers: Record<string, string> = {}) =>
  rampart.request(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), localAddress });

async function signIn(rampart: RampartProcess, localAddress: string): Promise<string> {
  const email = uniqueEmail('redis-failure');
  expect((await post(rampart, '/v1/auth/signup', { email, password: PASSWORD }, localAddress)).status).toBe(201);
  const login = await post(rampart, '/v1/auth/login', { email, password: PASSWORD }, localAddress);
  expect(login.status).toBe(200);
  return login.json<TokenPair>().access_token;
}

/** Sends `count` requests one after another and returns them with each one's latency. */
async function timed(count: number, send: () => Promise<HttpResponse>): Promise<{ responses: HttpResponse[]; p99Ms: number }> {
  const responses: HttpResponse[] = [];
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    responses.push(await send());
    latencies.push(performance.now() - started);
  }
  latencies.sort((a, b) => a - b);
  return { responses, p99Ms: latencies[Math.min(latencies.length - 1, Math.ceil(latencies.length * 0.99) - 1)]! };
}

const statuses = (responses: HttpResponse[]) => [...new Set(responses.map((r) => r.status))].sort();

async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(!postgres.available)('rate limits when Redis dies under a running instance', () => {
  let target: DatabaseTarget;
  let redis: PrivateRedis;
  let rampart: RampartProcess;

  beforeAll(async () => {
    target = await postgres.create();
    redis = await startPrivateRedis();
    rampart = await startRampart({ env: limitedEnv(target, { REDIS_URL: redis.url }) });
  }, 60_000);
  afterAll(async () => {
    await rampart?.stop();
    await redis?.destroy();
    await target?.cleanup();
  });

  it('fails open on the API tier and closed on the auth tier within a bound, then enforces again once Redis is back', async () => {
    const token = await signIn(rampart, '127.0.0.11');
    const me = () => rampart.request('/v1/me', { headers: bearer(token) });
    expect((await me()).headers['ratelimit-limit']).toBe('20');

    await redis.stop();
    // More requests than the budget: with the limiter failing open none is refused, none is a 5xx.
    const down = await timed(40, me);
    expect(statuses(down.responses)).toEqual([200]);
    // Nothing waits on reconnects: every answer comes within the command timeout plus ordinary work.
    expect(down.p99Ms).toBeLessThan(1_000);

    // The auth tier fails closed: a 503 problem that says why, never a 500 and never a sign-in.
    const login = await timed(5, () => post(rampart, '/v1/auth/login', { email: uniqueEmail('closed'), password: PASSWORD }, '127.0.0.12'));
    expect(statuses(login.responses)).toEqual([503]);
    expect(login.p99Ms).toBeLessThan(1_000);
    const refused = login.responses[0]!;
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.json<{ type: string }>().type).toMatch(/rate-limit-unavailable$/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);

    const readiness = (await rampart.request('/readiness')).json<{ status: string; redis: { ok: boolean } }>();
    expect(readiness).toMatchObject({ status: 'degraded', redis: { ok: false } });
    const metrics = await fetch(rampart.metricsUrl).then((r) => r.text());
    expect(metrics).toMatch(/rate_limit_decisions_total\{[^}]*outcome="failed_open"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/rate_limit_decisions_total\{[^}]*outcome="failed_closed"[^}]*\} [1-9]/);

    // Same port, empty memory: the instance reconnects by itself and the budget counts again.
    await redis.start();
    const ready = await eventually(() => rampart.request('/readiness').then((r) => r.json<{ redis: { ok: boolean } }>()), (b) => b.redis.ok, 15_000);
    expect(ready.redis.ok).toBe(true);
    const after = await timed(25, me);
    expect(after.responses.filter((r) => r.status === 200)).toHaveLength(20);
    expect(after.responses.filter((r) => r.status === 429)).toHaveLength(5);
    expect(rampart.child.exitCode).toBeNull();
  }, 60_000);
});

describe.skipIf(!postgres.available)('rate limits through a Sentinel failover', () => {
  let target: DatabaseTarget;
  let group: PrivateSentinelGroup;
  let rampart: RampartProcess;

  beforeAll(async () => {
    target = await postgres.create();
    group = await startPrivateSentinelGroup();
    // What this proves is enforcement after a failover. A promoted primary on a loaded CI
    // machine can take longer than the 50 ms default to answer, which fails open (tested above).
    rampart = await startRampart({
      env: limitedEnv(target, { REDIS_SENTINELS: group.sentinels.join(','), REDIS_MASTER_NAME: group.masterName, RATE_LIMIT_TIMEOUT_MS: '1000', REDIS_COMMAND_TIMEOUT_MS: '1000' }),
    });
  }, 60_000);
  afterAll(async () => {
    await rampart?.stop();
    await group?.destroy();
    await target?.cleanup();
  });

  it('reports sentinel mode and keeps enforcing limits after the primary is killed', async () => {
    expect((await rampart.request('/readiness')).json<{ redis: unknown }>().redis).toEqual({ configured: true, ok: true, details: 'ok:sentinel' });
    const before = await signIn(rampart, '127.0.0.13');
    const beforeRun = await timed(25, () => rampart.request('/v1/me', { headers: bearer(before) }));
    expect(beforeRun.responses.filter((r) => r.status === 429)).toHaveLength(5);

    await group.primary.stop();
    const promoted = await eventually(() => group.masterPort().catch(() => 0), (port) => port === group.replica.port, 30_000);
    expect(promoted).toBe(group.replica.port);
    const ready = await eventually(() => rampart.request('/readiness').then((r) => r.json<{ redis: { ok: boolean; details: string } }>()), (b) => b.redis.ok, 20_000);
    expect(ready.redis).toMatchObject({ ok: true, details: 'ok:sentinel' });

    // Readiness only pings; on a loaded machine the limiter's first scripts on the promoted
    // primary may still fail open for a moment. Wait until a bystander's request is counted
    // again (fail-open answers carry no RateLimit headers).
    await eventually(
      () => rampart.request('/test/items/1', { localAddress: '127.0.0.15' }),
      (response) => response.headers['ratelimit-remaining'] !== undefined,
      20_000,
    );
    // A fresh principal on the promoted primary: exactly its budget, then 429s, with no restart.
    const after = await signIn(rampart, '127.0.0.14');
    const afterRun = await timed(25, () => rampart.request('/v1/me', { headers: bearer(after) }));
    expect(afterRun.responses.filter((r) => r.status === 200)).toHaveLength(20);
    expect(afterRun.responses.filter((r) => r.status === 429)).toHaveLength(5);
  }, 90_000);
});
