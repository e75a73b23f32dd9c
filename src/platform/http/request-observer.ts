import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { RequestLineWriter } from '../log/request-line.js';
import type { HttpMetrics } from '../metrics/registry.js';
import { pathOf } from './probe-paths.js';

// Route label for requests that matched no route: the raw URL would explode cardinality.
const UNMATCHED = 'unmatched';

/** One log line and one metrics observation per answered request, after the response is sent. */
export const requestObserver = fp(
  async (app: FastifyInstance, options: { metrics: HttpMetrics; writeRequestLine: RequestLineWriter }) => {
    const { requests } = options.metrics;
    app.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url ?? UNMATCHED;
      const status = reply.statusCode;
      const elapsedMs = reply.elapsedTime;
      requests.observe(request.method, route, status, elapsedMs / 1000);
      options.writeRequestLine({ correlationId: request.id, method: request.method, route, path: pathOf(request.url), status, durationMs: elapsedMs, clientIp: request.ip });
      done();
    });
  },
  { name: 'rampart-request-observer' },
);
