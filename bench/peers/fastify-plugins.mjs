// (d) Fastify with its official plugins wired the way their READMEs show:
// this is what a team would build by hand instead of adopting Rampart.
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import helmet from '@fastify/helmet';
import underPressure from '@fastify/under-pressure';
import { BODY, port, closeOnSignal } from './common.mjs';

const app = Fastify({
  // Default request logging (incoming + completed) to stdout, which the
  // harness points at /dev/null so serialisation and write() still happen.
  logger: true,
  requestIdHeader: 'x-correlation-id',
  genReqId: () => randomUUID(),
});
await app.register(helmet);
// Same threshold as Rampart's LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS in the run.
await app.register(underPressure, { maxEventLoopDelay: 1000, retryAfter: 10 });
app.addHook('onRequest', (req, reply, done) => {
  reply.header('x-correlation-id', req.id);
  done();
});
app.get('/health', async () => ({ status: 'ok' }));
app.get('/bench/json', async () => BODY);

await app.listen({ port: port(), host: '127.0.0.1' });
closeOnSignal(() => app.close());
