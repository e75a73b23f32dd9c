import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authEnv, bearer, PASSWORD, uniqueEmail, type TokenPair } from '../support/auth-client.js';
import { databaseTargets, type DatabaseTarget } from '../support/databases.js';
import { startRampart, type HttpResponse, type RampartProcess } from '../support/rampart-process.js';

// Three web instances on one Postgres and one Redis, as behind a load balancer: the limits
// must hold for the cluster, not per process.
const postgres = databaseTargets().find((t) => t.name === 'postgres')!;
const redisUrl = process.env.TEST_REDIS_URL;
if (!redisUrl && process.env.CI === 'true') throw new Error('TEST_REDIS_URL is required in CI');

describe.skipIf(!postgres.available || !redisUrl)('rate limits across three instances sharing Postgres and Redis', () => {
  const instances: RampartProcess[] = [];
  let target: DatabaseTarget;

  beforeAll(async () => {
    target = await postgres.create();
    const env = authEnv(target, {
      REDIS_URL: redisUrl!,
      // A fresh prefix per run: budgets from earlier runs never leak in.
      REDIS_KEY_PREFIX: `test:${randomBytes(6).toString('hex')}:`,
      RATE_LIMIT_ENABLED: 'true',
      RATE_LIMIT_API_PER_MIN: '100',
      RATE_LIMIT_AUTH_PER_MIN: '10',
      // Exactness is the point here: on a loaded CI machine a 50 ms decision budget would
      // let a few requests fail open (the Redis-failure suite tests that budget).
      RATE_LIMIT_TIMEOUT_MS: '5000',
      REDIS_COMMAND_TIMEOUT_MS: '5000',
      // Wrong passwords below must meet the rate limiter, not the brute-force lock that
      // would otherwise answer 429 itself after a few failures.
      AUTH_THROTTLE_DELAY_AFTER: '1000',
      AUTH_LOCKOUT_AFTER: '10000',
    });
    // The first applies the migrations; the others start on the migrated database.
    instances.push(await startRampart({ env }));
    instances.push(...(await Promise.all([startRampart({ env }), startRampart({ env })])));
  }, 60_000);
  afterAll(async () => {
    await Promise.all(instances.map((i) => i.stop()));
    await target?.cleanup();
  });

  // Every test signs in from its own loopback address: the auth tier's per-IP budget is per test.
  const post = (instance: RampartProcess, path: string, body: unknown, localAddress: string, headers: Record<string, string> = {}) =>
    instance.request(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), localAddress });
  async function signedIn(label: string, localAddress: string): Promise<{ email: string; pair: TokenPair }> {
    const email = uniqueEmail(label);
    expect((await post(instances[0]!, '/v1/auth/signup', { email, password: PASSWORD }, localAddress)).status).toBe(201);
    const login = await post(instances[1]!, '/v1/auth/login', { email, password: PASSWORD }, localAddress);
    expect(login.status).toBe(200);
    return { email, pair: login.json<TokenPair>() };
  }

  const tally = (responses: HttpResponse[]) => {
    const counts: Record<number, number> = {};
    for (const r of responses) counts[r.status] = (counts[r.status] ?? 0) + 1;
    return counts;
  };

  it('lets exactly 100 of 150 API requests through, round-robin over the instances', async () => {
    const { pair: { access_token } } = await signedIn('cluster-api', '127.0.0.2');
    const responses = await Promise.all(Array.from({ length: 150 }, (_, i) => instances[i % 3]!.request('/v1/me', { headers: bearer(access_token) })));
    expect(tally(responses)).toEqual({ 200: 100, 429: 50 });
    const refused = responses.find((r) => r.status === 429)!;
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.headers['ratelimit-limit']).toBe('100');
    expect(refused.headers['ratelimit-remaining']).toBe('0');
  });

  const refusedBy = (responses: HttpResponse[]) => new Set(responses.filter((r) => r.status === 429).map((r) => r.json<{ type: string }>().type.split('/').pop()));

  it('lets exactly 10 of 15 sign-in attempts from one address through, round-robin over the instances', async () => {
    // Distinct accounts: only the per-IP budget of the auth tier applies.
    const responses = await Promise.all(Array.from({ length: 15 }, (_, i) =>
      post(instances[i % 3]!, '/v1/auth/login', { email: uniqueEmail(`cluster-auth-ip-${i}`), password: 'not the password at all' }, '127.0.0.3')));
    expect(tally(responses)).toEqual({ 401: 10, 429: 5 });
    expect(refusedBy(responses)).toEqual(new Set(['rate-limited']));
    const refused = responses.find((r) => r.status === 429)!;
    expect(refused.headers['ratelimit-limit']).toBe('10');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('lets exactly 10 of 15 sign-in attempts on one account through, from three addresses over three instances', async () => {
    // Five attempts per address stay within each per-IP budget: the refusals come from the per-account one.
    const email = uniqueEmail('cluster-auth-account');
    const addresses = ['127.0.0.6', '127.0.0.7', '127.0.0.8'];
    const responses = await Promise.all(Array.from({ length: 15 }, (_, i) =>
      post(instances[i % 3]!, '/v1/auth/login', { email, password: 'not the password at all' }, addresses[Math.floor(i / 5)]!)));
    expect(tally(responses)).toEqual({ 401: 10, 429: 5 });
    expect(refusedBy(responses)).toEqual(new Set(['rate-limited']));
  });

  it('sees a session revoked through one instance as revoked on the others', async () => {
    const { pair } = await signedIn('cluster-revoke', '127.0.0.5');
    expect((await instances[1]!.request('/v1/me', { headers: bearer(pair.access_token) })).status).toBe(200);
    expect((await post(instances[0]!, '/v1/auth/logout', {}, '127.0.0.5', bearer(pair.access_token))).status).toBe(204);
    const deadline = Date.now() + 1_000;
    // Within one second every instance refuses it.
    await new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())));
    for (const instance of instances.slice(1)) expect((await instance.request('/v1/me', { headers: bearer(pair.access_token) })).status).toBe(401);
  });
});
