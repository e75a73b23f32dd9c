// A BullMQ worker process doing the same no-op as bench/peers/rampart-jobs.mjs, with the same
// reporting. Default worker options apart from `concurrency`; /health answers once it is ready.
import http from 'node:http';
import { Worker } from 'bullmq';
import { bullmqConnection, closeOnSignal, port } from './common.mjs';
import { recordPickup } from './job-pickup.mjs';

const worker = new Worker(process.env.BENCH_QUEUE, async (job) => recordPickup(job.data), {
  connection: bullmqConnection(process.env.BENCH_REDIS_URL),
  concurrency: Number(process.env.BENCH_CONCURRENCY),
});
worker.on('error', (err) => console.error('bullmq worker:', err.message));
await worker.waitUntilReady();

const server = http.createServer((req, res) => res.writeHead(req.url === '/health' ? 200 : 404).end());
server.listen(port(), '127.0.0.1');
closeOnSignal(async () => {
  server.close();
  await worker.close();
});
