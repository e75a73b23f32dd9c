import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/private-postgres.js';
import { problemDetails, sendProblem } from '../http/problem.js';
import { createRedisConnection, type RedisConnection } from '../redis/redis-connection.js';
import { createLimiter, type Tier } from './limiter.js';
import { createMemoryStore } from './memory-store.js';
import { rateLimitHooks } from './rate-limit-hooks.js';
import { createRedisStore } from './redis-store.js';
import type { RateLimitStore } from './store.js';

const redisUrl = process.env.TEST_REDIS_URL;
if (!redisUrl && process.env.CI === 'true') throw new Error('TEST_REDIS_URL is required in CI');

const tier = (name: string, limit: number, failMode: 'open' | 'closed' = 'open'): Tier => ({ name, limit, windowMs: 60_000, failMode });

interface AppOptions {
  limits?: Partial<Record<'global' | 'general' | 'api' | 'auth', number>>;
  store?: RateLimitStore;
  trustedProxies?: string[];
}

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

// The shape main.ts builds: trustProxy as in server.ts, problem details, the hooks at the
// root, then an authenticated scope whose onRequest hook sets the caller.
async function appWith(options: AppOptions = {}): Promise<FastifyInstance> {
  const limits = { global: 1_000, general: 1_000, api: 1_000, auth: 1_000, ...options.limits };
  const trusted = options.trustedProxies ?? [];
  const app = Fastify({ trustProxy: trusted.length > 0 ? trusted : false, ajv: { customOptions: { coerceTypes: false } } });
  apps.push(app);
  const callers = new WeakMap<FastifyRequest, string>();
  const limiter = createLimiter({
    store: options.store ?? createMemoryStore(),
    tiers: { global: tier('global', limits.global), general: tier('general', limits.general), api: tier('api', limits.api), auth: tier('auth', limits.auth, 'closed') },
    timeoutMs: 200,
  });
  await app.register(problemDetails);
  await app.register(rateLimitHooks, {
    limiter,
    exempt: (request) => request.url === '/health',
    principalKey: (request) => callers.get(request),
    refuse: sendProblem,
    accountKeySecret: 'test-pepper',
  });
  app.get('/health', async () => ({ ok: true }));
  app.get('/page', async () => ({ ok: true }));
  await app.register(async (scope) => {
    scope.addHook('onRequest', async (request) => {
      const user = request.headers['x-test-user'];
      if (typeof user === 'string') callers.set(request, `user:${user}`);
    });
    scope.get('/v1/things', async () => ({ ok: true }));
    // A route's own preValidation (here: a permission check that refuses) runs after the limiter.
    scope.get('/v1/forbidden', { preValidation: async (_request, reply) => sendProblem(reply, 403, 'insufficient-permission', 'No.') }, async () => ({ ok: true }));
    await scope.register(async (nested) => {
      nested.get('/nested', async () => ({ ok: true }));
    }, { prefix: '/v1/prefixed' });
    scope.post('/v1/auth/login', {
      config: { rateLimit: { tier: 'auth', account: (request) => (request.body as { email?: string } | undefined)?.email } },
      schema: { body: { type: 'object', required: ['email', 'password'], properties: { email: { type: 'string' }, password: { type: 'string' } } } },
    }, async () => ({ ok: true }));
  });
  return app;
}

const login = (app: FastifyInstance, email: unknown, extra: { remoteAddress?: string; headers?: Record<string, string> } = {}) =>
  app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: 'x' }, ...extra });

describe('rate-limit hooks', () => {
  it('sends RateLimit-* headers, then a 429 problem with Retry-After once the general tier is spent', async () => {
    const app = await appWith({ limits: { general: 3 } });
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await app.inject('/page'));
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200, 429]);
    expect(answers.map((a) => a.headers['ratelimit-remaining'])).toEqual(['2', '1', '0', '0']);
    expect(answers[0]!.headers['ratelimit-limit']).toBe('3');
    expect(answers[0]!.headers['ratelimit-reset']).toBe('60');
    const refused = answers[3]!;
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.json()).toMatchObject({ type: '/problems/rate-limited', status: 429, title: 'Too Many Requests' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(59);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
  });

  it('never limits exempt paths, and they spend no budget', async () => {
    const app = await appWith({ limits: { global: 2, general: 2 } });
    for (let i = 0; i < 10; i++) {
      const answer = await app.inject('/health');
      expect(answer.statusCode).toBe(200);
      expect(answer.headers['ratelimit-limit']).toBeUndefined();
    }
    expect((await app.inject('/page')).headers['ratelimit-remaining']).toBe('1');
  });

  it('counts /v1 routes per authenticated caller, falling back to the client IP', async () => {
    const app = await appWith({ limits: { api: 2, general: 1 } });
    const as = (user?: string) => app.inject({ url: '/v1/things', headers: user ? { 'x-test-user': user } : {} });
    expect([(await as('a')).statusCode, (await as('a')).statusCode, (await as('a')).statusCode]).toEqual([200, 200, 429]);
    expect((await as('b')).statusCode, 'another user has a budget of its own').toBe(200);
    expect([(await as()).statusCode, (await as()).statusCode, (await as()).statusCode]).toEqual([200, 200, 429]);
    expect((await app.inject('/page')).statusCode, '/v1 traffic does not spend the general tier').toBe(200);
  });

  it('limits /v1 routes registered under a prefix, and counts a request its route then refuses', async () => {
    const app = await appWith({ limits: { api: 2, general: 1 } });
    expect([(await app.inject('/v1/prefixed/nested')).statusCode, (await app.inject('/v1/prefixed/nested')).statusCode, (await app.inject('/v1/prefixed/nested')).statusCode]).toEqual([200, 200, 429]);
    const other = { remoteAddress: '198.51.100.9' };
    const forbidden = [];
    for (let i = 0; i < 3; i++) forbidden.push((await app.inject({ url: '/v1/forbidden', ...other })).statusCode);
    expect(forbidden, 'the limiter answers before the permission check').toEqual([403, 403, 429]);
    expect((await app.inject({ url: '/v1/forbidden', ...other })).headers['ratelimit-remaining']).toBe('0');
  });

  it('reports the most restrictive tier in the headers', async () => {
    const app = await appWith({ limits: { global: 10, api: 3 } });
    const answer = await app.inject('/v1/things');
    expect(answer.headers['ratelimit-limit']).toBe('3');
    expect(answer.headers['ratelimit-remaining']).toBe('2');
  });

  it('caps every route together with the global per-IP ceiling', async () => {
    const app = await appWith({ limits: { global: 4 } });
    const statuses = [];
    for (const url of ['/page', '/v1/things', '/page', '/v1/things', '/page']) statuses.push((await app.inject(url)).statusCode);
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
    expect((await app.inject({ url: '/page', remoteAddress: '198.51.100.7' })).statusCode, 'another IP').toBe(200);
  });

  it('limits sign-in per account across IPs, whatever the letter case of the address', async () => {
    const app = await appWith({ limits: { auth: 3 }, trustedProxies: ['127.0.0.1'] });
    const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });
    const statuses = [];
    for (const [i, email] of ['Ann@Example.com', 'ann@example.com', ' ANN@example.com', 'ann@example.com'].entries()) statuses.push((await login(app, email, from(`192.0.2.${i + 1}`))).statusCode);
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect((await login(app, 'bob@example.com', from('192.0.2.9'))).statusCode).toBe(200);
  });

  it('limits sign-in per IP across accounts, counting attempts whose body is invalid', async () => {
    const app = await appWith({ limits: { auth: 3 } });
    expect((await login(app, 42)).statusCode).toBe(422);
    expect((await login(app, 'a@example.com')).statusCode).toBe(200);
    expect((await login(app, 'b@example.com')).statusCode).toBe(200);
    const refused = await login(app, 'c@example.com');
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toMatchObject({ type: '/problems/rate-limited' });
  });

  it('gives sign-in routes their own budget instead of the api tier', async () => {
    const app = await appWith({ limits: { api: 1, auth: 3 } });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await login(app, 'a@example.com')).statusCode);
    expect(statuses).toEqual([200, 200, 200]);
    expect((await app.inject('/v1/things')).statusCode).toBe(200);
  });

  it('does not give a fresh budget to an untrusted client that spoofs X-Forwarded-For', async () => {
    const app = await appWith({ limits: { general: 2 }, trustedProxies: ['10.0.0.1'] });
    const spoofed = (i: number) => app.inject({ url: '/page', remoteAddress: '203.0.113.5', headers: { 'x-forwarded-for': `198.51.100.${i}` } });
    expect([(await spoofed(1)).statusCode, (await spoofed(2)).statusCode, (await spoofed(3)).statusCode]).toEqual([200, 200, 429]);
    // Behind the trusted proxy, each forwarded client does have its own budget.
    const proxied = (i: number) => app.inject({ url: '/page', remoteAddress: '10.0.0.1', headers: { 'x-forwarded-for': `198.51.100.${i}` } });
    expect([(await proxied(1)).statusCode, (await proxied(1)).statusCode, (await proxied(2)).statusCode]).toEqual([200, 200, 200]);
  });

  describe('with Redis unreachable', () => {
    let connection: RedisConnection;
    afterAll(() => connection?.close());

    it('lets open tiers through without headers and answers 503 on closed ones', async () => {
      connection = createRedisConnection({ url: `redis://127.0.0.1:${await freePort()}`, commandTimeoutMs: 50, connectTimeoutMs: 50 });
      const app = await appWith({ store: createRedisStore({ client: connection.client, prefix: 'unreachable:' }) });
      const page = await app.inject('/page');
      expect(page.statusCode).toBe(200);
      expect(page.headers['ratelimit-limit']).toBeUndefined();
      const signIn = await login(app, 'a@example.com');
      expect(signIn.statusCode).toBe(503);
      expect(signIn.headers['retry-after']).toBe('5');
      expect(signIn.json()).toMatchObject({ type: '/problems/rate-limit-unavailable', status: 503 });
    });
  });

  describe('on Redis', () => {
    const clients: Redis[] = [];
    afterAll(() => clients.forEach((c) => c.disconnect()));

    it('never stores the raw email address', async (ctx) => {
      ctx.skip(!redisUrl, 'skipped: no Redis');
      const client = new Redis(redisUrl!);
      clients.push(client);
      const prefix = `rampart-test:${randomUUID()}:`;
      const app = await appWith({ store: createRedisStore({ client, prefix }), limits: { auth: 1 } });
      expect((await login(app, 'Carol@Example.com')).statusCode).toBe(200);
      expect((await login(app, 'carol@example.com', { remoteAddress: '192.0.2.50' })).statusCode).toBe(429);
      const keys = (await client.keys(`${prefix}*`)).filter((key) => !key.endsWith(':n'));
      // Logs (each with a counter beside it): global for two IPs, auth for the first IP and the account: the refused attempt from
      // the second IP is charged to none of its limits.
      expect(keys).toHaveLength(4);
      expect(keys.filter((key) => key.includes('rl:auth:{account:'))).toHaveLength(1);
      expect(keys.join(' ').toLowerCase()).not.toContain('carol');
    });
  });
});
