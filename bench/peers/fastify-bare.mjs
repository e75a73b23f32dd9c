// (a) Fastify with no plugins: the ceiling every other peer is compared to.
import Fastify from 'fastify';
import { BODY, port, closeOnSignal } from './common.mjs';

const app = Fastify({ logger: false });
app.get('/health', async () => ({ status: 'ok' }));
app.get('/bench/json', async () => BODY);

await app.listen({ port: port(), host: '127.0.0.1' });
closeOnSignal(() => app.close());
