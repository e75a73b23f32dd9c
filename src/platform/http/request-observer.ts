import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { HttpMetrics } from '../metrics/registry.js';
import { pathOf } from './probe-paths.js';

// Route label for requests that matched no route: the raw URL would explode cardinality.
const UNMATCHED = 'unmatched';

/** One log line and one metrics observation per answered request, after the response is sent. */
export const requestObserver = fp(
  async (app: FastifyInstance, options: { metrics: HttpMetrics }) => {
    const { requests, duration } = options.metrics;
    app.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url ?? UNMATCHED;
      const status = reply.statusCode;
      const seconds = reply.elapsedTime / 1000;
      const labels = { method: request.method, route, status: String(status) };
      requests.inc(labels);
      duration.observe(labels, seconds);
      request.log.info(
        { method: request.method, route, path: pathOf(request.url), status, duration_ms: Math.round(reply.elapsedTime * 100) / 100, client_ip: request.ip },
        'request completed',
      );
      done();
    });
  },
  { name: 'rampart-request-observer' },
);
