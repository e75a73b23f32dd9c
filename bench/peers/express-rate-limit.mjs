// Express 5 with `express-rate-limit` + `rate-limit-redis` (BENCH_LIMITS=on) or without
// them (off): the seeds' stack's limiter, measured in the same run as Rampart's.
import express from 'express';
import { Redis } from 'ioredis';
import { BODY, closeOnSignal, listenExpress } from './common.mjs';

const app = express();
let redis;
if (process.env.BENCH_LIMITS === 'on') {
  const { rateLimit } = await import('express-rate-limit');
  const { RedisStore } = await import('rate-limit-redis');
  redis = new Redis(process.env.BENCH_REDIS_URL);
  app.use(rateLimit({
    windowMs: 60_000,
    limit: 1_000_000_000,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    skip: (req) => req.path === '/health',
    store: new RedisStore({ sendCommand: (command, ...args) => redis.call(command, ...args), prefix: `${process.env.BENCH_REDIS_PREFIX ?? 'bench:'}erl:` }),
  }));
}
app.get('/health', (_req, res) => res.json({ status: 'ok' }));
app.get('/bench/json', (_req, res) => res.json(BODY));

const server = await listenExpress(app);
closeOnSignal(() => new Promise((resolve) => {
  redis?.disconnect();
  server.close(resolve);
}));
