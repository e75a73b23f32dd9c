import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import type { RequestLineWriter } from '../log/request-line.js';
import type { HttpMetrics } from '../metrics/registry.js';
import { pathOf } from './probe-paths.js';

/** The request's trace and span ids while tracing is on. */
export type RequestTraceIds = (request: FastifyRequest) => { traceId: string; spanId: string } | undefined;

// Route label for requests that matched no route: the raw URL would explode cardinality.
const UNMATCHED = 'unmatched';

/**
 * One log line and one metrics observation per answered request (404s and errors included).
 * Fastify calls its log controller's `requestCompleted` once a response has finished;
 * taking that seat instead of adding an `onResponse` hook keeps one lifecycle step off
 * every request.
 */
export class RequestObserver extends LogController {
  readonly #metrics: HttpMetrics;
  readonly #writeRequestLine: RequestLineWriter;
  readonly #traceIdsOf: RequestTraceIds | undefined;

  constructor(options: { metrics: HttpMetrics; writeRequestLine: RequestLineWriter; traceIdsOf?: RequestTraceIds }) {
    super({ disableRequestLogging: false, requestIdLogLabel: 'correlation_id' });
    this.#metrics = options.metrics;
    this.#writeRequestLine = options.writeRequestLine;
    this.#traceIdsOf = options.traceIdsOf;
  }

  override incomingRequest(): void {
    // One line per request, written when it completes.
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const route = request.routeOptions.url ?? UNMATCHED;
    const status = reply.statusCode;
    const elapsedMs = reply.elapsedTime;
    this.#metrics.requests.observe(request.method, route, status, elapsedMs / 1000);
    this.#writeRequestLine({ correlationId: request.id, method: request.method, route, path: pathOf(request.url), status, durationMs: elapsedMs, clientIp: request.ip, trace: this.#traceIdsOf?.(request) });
    if (error) request.log.warn({ err: error }, 'response not fully sent');
  }
}
