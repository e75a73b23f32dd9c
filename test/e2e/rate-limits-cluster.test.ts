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
