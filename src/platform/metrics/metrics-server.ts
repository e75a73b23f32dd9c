import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log/logger.js';
import type { Metrics } from './registry.js';

/** A JSON answer computed per request (the full readiness report). */
export type InternalJsonRoute = () => Promise<{ statusCode: number; body: unknown }>;

export interface MetricsServer {
  url: string;
  /** The port bound (METRICS_PORT, or the one the system chose for 0). */
  port: number;
  /** Serves `GET path` with `answer`, for reports meant for operators only (not the public port). */
  serveJson(path: string, answer: InternalJsonRoute): void;
  close(): Promise<void>;
}

/**
 * The internal port: `/metrics` for Prometheus, `/health` for process probes, and what the
 * process adds with `serveJson` (`/readiness` in full on web processes). A plain node:http
 * server, so a wedged public server never hides its own metrics.
 */
export async function startMetricsServer(metrics: Metrics, host: string, port: number, logger: Logger): Promise<MetricsServer> {
  const jsonRoutes = new Map<string, InternalJsonRoute>();
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const answer = req.method === 'GET' ? jsonRoutes.get(path) : undefined;
    if (answer) {
      answer().then(
        ({ statusCode, body }) => {
          res.writeHead(statusCode, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
          res.end(JSON.stringify(body));
        },
        (err: unknown) => {
          logger.error({ err, path }, 'internal report failed');
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end('report failed\n');
        },
      );
      return;
    }
    if (req.method === 'GET' && path === '/metrics') {
      metrics.registry.metrics().then(
        (body) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(body);
        },
        (err: unknown) => {
          logger.error({ err }, 'metrics collection failed');
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end('metrics collection failed\n');
        },
      );
      return;
    }
    if (req.method === 'GET' && path === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${formatHost(host)}:${bound}/metrics`,
    port: bound,
    serveJson: (path, answer) => void jsonRoutes.set(path, answer),
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

export const formatHost = (host: string) => (host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host);
