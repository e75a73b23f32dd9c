// Fastify with `@fastify/rate-limit` on Redis (BENCH_LIMITS=on) or without it (off): the
// official plugin's cost, for comparison with Rampart's limiter in the same run.
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { BODY, port, closeOnSignal } from './common.mjs';

const app = Fastify({ logger: false });
let redis;
if (process.env.BENCH_LIMITS === 'on') {
  // The plugin's README recommends these options for a limiter's connection.
  redis = new Redis(process.env.BENCH_REDIS_URL, { connectTimeout: 500, maxRetriesPerRequest: 1 });
  await app.register((await import('@fastify/rate-limit')).default, {
    max: 1_000_000_000,
    timeWindow: 60_000,
    redis,
    nameSpace: `${process.env.BENCH_REDIS_PREFIX ?? 'bench:'}frl:`,
    allowList: (request) => request.url === '/health',
  });
}
app.get('/health', async () => ({ status: 'ok' }));
app.get('/bench/json', async () => BODY);

await app.listen({ port: port(), host: '127.0.0.1' });
closeOnSignal(async () => {
  await app.close();
  redis?.disconnect();
});
