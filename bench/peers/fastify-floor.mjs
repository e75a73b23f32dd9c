// (b) Byte floor: bare Fastify that sends the same static headers as Rampart
// and does nothing else, so (c)/(b) isolates the cost of Rampart's logic from
// the unavoidable cost of writing those bytes.
import Fastify from 'fastify';
import { BODY, port, closeOnSignal } from './common.mjs';

const headers = JSON.parse(process.env.BENCH_FLOOR_HEADERS ?? '{}');
const app = Fastify({ logger: false });
if (Object.keys(headers).length > 0) {
  // One pre-built object and a single call per request: the cheapest way to
  // put these bytes on the wire through Fastify's normal reply path.
  app.addHook('onRequest', (_req, reply, done) => {
    reply.headers(headers);
    done();
  });
}
app.get('/health', async () => ({ status: 'ok' }));
app.get('/bench/json', async () => BODY);

await app.listen({ port: port(), host: '127.0.0.1' });
closeOnSignal(() => app.close());
