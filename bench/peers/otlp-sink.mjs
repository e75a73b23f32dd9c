// The tracing suite's collector: answers 200 to every OTLP/HTTP export (POST /v1/traces) after
// reading the body, as a collector that keeps up would. Runs in its own process so its CPU is
// not the load generator's; GET /stats tells the harness what arrived.
import http from 'node:http';
import { closeOnSignal, port } from './common.mjs';

const stats = { exports: 0, bytes: 0 };

const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/v1/traces') {
    req.on('data', (chunk) => (stats.bytes += chunk.length));
    req.on('end', () => {
      stats.exports++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    return;
  }
  if (req.method === 'GET' && (req.url === '/health' || req.url === '/stats')) {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats));
    return;
  }
  res.writeHead(404).end();
});
server.keepAliveTimeout = 60_000;
server.listen(port(), '127.0.0.1');
closeOnSignal(() => new Promise((resolve) => server.close(resolve)));
