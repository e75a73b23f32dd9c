import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { withLazyChildren } from '../log/lazy-child.js';
import type { Logger } from '../log/logger.js';
import type { RequestLineWriter } from '../log/request-line.js';
import type { HttpMetrics } from '../metrics/registry.js';
import { apiDocsRoutes, registerOpenApi, type ApiDocsOptions } from './api-docs.js';
import { correlationIdFor } from './correlation-id.js';
import { corsPolicy } from './cors.js';
import { httpsRedirect } from './https-redirect.js';
import { lazySchemaCompilers } from './lazy-schema-compilers.js';
import { loadShedding, type PressureGauge } from './load-shedding.js';
import { refuseMalformedRequests } from './malformed-requests.js';
import { ERROR_MESSAGE_KEYWORD, frameworkErrorHandler, problemDetails, type OutageClassifier, type ServerErrorObserver } from './problem.js';
import { gracefulClose } from './graceful-close.js';
import { RequestObserver, type RequestTraceIds } from './request-observer.js';
import { securityHeaderSet, securityHeaders } from './security-headers.js';
import { serviceIndex } from './service-index.js';
import { staticAssets } from './static-assets.js';

export interface HttpServerOptions {
  logger: Logger;
  writeRequestLine: RequestLineWriter;
  metrics: HttpMetrics;
  pressure: PressureGauge;
  production: boolean;
  forceHttps: boolean;
  trustedProxies: readonly string[];
  corsOrigins: readonly string[];
  bodyLimitBytes: number;
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  keepAliveTimeoutMs: number;
  loadShedRetryAfterS: number;
  /** Unset: no docs routes at all. */
  docs?: ApiDocsOptions;
  staticRoot: string;
  /** Recognise a dependency's outage in an error a route throws (e.g. the database's): 503 with `Retry-After`, not 500. */
  outages?: readonly OutageClassifier[];
  /** Error reports on: told of every request answered 5xx, with the error behind it. */
  onServerError?: ServerErrorObserver;
  /** Tracing on: the plugin that opens a server span per request, registered before every other hook, and each request's span ids for its log line. */
  tracing?: { spans: FastifyPluginAsync; traceIdsOf: RequestTraceIds };
  /** Routes: the platform's own (health) and every feature; each inherits every control. */
  routes: ReadonlyArray<FastifyPluginAsync>;
}

const SCHEMA_COMPILE_DELAY_MS = 1_000;

/** The public Fastify server with every hardening control, in the order a request meets them. */
export async function buildHttpServer(options: HttpServerOptions): Promise<FastifyInstance> {
  const schemas = lazySchemaCompilers();
  const hsts = options.forceHttps || options.production;
  const app = Fastify({
    // pino's Logger is a FastifyBaseLogger; typing it as such keeps one instance type across plugins.
    // Each request's child logger is built on first use only (most requests never log through it).
    loggerInstance: withLazyChildren(options.logger) as FastifyBaseLogger,
    // One line per request, with the fields dashboards need, plus the HTTP metrics.
    logController: new RequestObserver({ metrics: options.metrics, writeRequestLine: options.writeRequestLine, traceIdsOf: options.tracing?.traceIdsOf }),
    genReqId: correlationIdFor,
    trustProxy: options.trustedProxies.length > 0 ? [...options.trustedProxies] : false,
    bodyLimit: options.bodyLimitBytes,
    requestTimeout: options.requestTimeoutMs,
    keepAliveTimeout: options.keepAliveTimeoutMs,
    // No per-socket inactivity timer (re-armed on every read and write): requestTimeout
    // already bounds a client that stops sending mid-request, keepAliveTimeout an idle one.
    return503OnClosing: true,
    // Connections are drained by graceful-close.ts; closing "idle" ones at once resets requests
    // that arrived but were not read yet.
    forceCloseConnections: false,
    frameworkErrors: frameworkErrorHandler,
    // Requests Node's parser refuses never reach the hooks below; they get the same headers.
    clientErrorHandler: refuseMalformedRequests({ headers: securityHeaderSet({ hsts }), logger: options.logger }),
    // verbose: each error carries its schema node, whose `x-error-message` (problem.ts) says in words what is expected.
    ajv: { customOptions: { allErrors: true, removeAdditional: false, coerceTypes: false, verbose: true, keywords: [ERROR_MESSAGE_KEYWORD] } },
    schemaController: { compilersFactory: schemas.compilersFactory },
    // Node's defaults allow a minute for headers and check only every 30 s; a slowloris
    // client trickling headers is cut off at headersTimeout, checked at a tenth of it.
    http: {
      headersTimeout: Math.min(options.headersTimeoutMs, options.requestTimeoutMs),
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(options.headersTimeoutMs / 10))),
    },
  });

  // Schemas not yet compiled by a request are compiled shortly after listening, off the start-up
  // path: begun at once, loading Ajv alone held back the first readiness probe by ~0.1 s.
  app.addHook('onListen', (done) => {
    const timer = setTimeout(() => {
      void schemas.compileAll().then(({ compiled, failures }) => {
        for (const err of failures) options.logger.error({ err }, 'a route schema does not compile; that route answers 500');
        options.logger.info({ compiled, failed: failures.length }, 'route schemas compiled');
      });
    }, SCHEMA_COMPILE_DELAY_MS);
    timer.unref();
    done();
  });

  // Fastify also parses text/plain by default. No route takes text, and a JSON document sent
  // as text/plain is what a cross-site form can post without a CORS preflight: refuse it (415).
  app.removeContentTypeParser('text/plain');

  await app.register(gracefulClose, { trustedProxies: options.trustedProxies });
  if (options.tracing) await app.register(options.tracing.spans);
  await app.register(problemDetails, { outages: options.outages, onServerError: options.onServerError });
  await app.register(securityHeaders, { hsts });
  await app.register(loadShedding, { gauge: options.pressure, retryAfterS: options.loadShedRetryAfterS, onShed: () => options.metrics.shed.inc() });
  if (options.forceHttps) await app.register(httpsRedirect, { trustedProxies: options.trustedProxies });
  await corsPolicy(app, { origins: options.corsOrigins });
  if (options.docs) await registerOpenApi(app, options.docs);

  await app.register(staticAssets, { root: options.staticRoot });
  if (options.docs) await app.register(apiDocsRoutes, options.docs);
  for (const routes of options.routes) await app.register(routes);
  serviceIndex(app, { production: options.production, docs: options.docs !== undefined });
  return app;
}
