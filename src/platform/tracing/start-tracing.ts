import { context, createContextKey, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Context, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResultCode, W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type Sampler,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { trustedPeer } from '../http/trusted-peer.js';
import type { ExporterStatus, SamplerName, TraceIds, Tracing, TracingSettings } from './tracing.js';

const propagator = new W3CTraceContextPropagator();
const headerGetter = {
  keys: (carrier: Record<string, unknown>) => Object.keys(carrier),
  get: (carrier: Record<string, unknown>, key: string) => {
    const value = carrier[key];
    return Array.isArray(value) ? (value[0] as string | undefined) : (value as string | undefined);
  },
};
const recordSetter = { set: (carrier: Record<string, string>, key: string, value: string) => void (carrier[key] = value) };

/**
 * Starts the OpenTelemetry SDK: parent-based sampling, a bounded batch queue, OTLP/HTTP
 * (JSON) export. The tracer is this process's own; only the async context manager is
 * global, because context has to follow every await.
 */
export function startTracing(settings: TracingSettings): Tracing {
  const exporterState = { ok: true, details: 'no export yet' };
  const counts = { exported: 0, droppedQueueFull: 0, droppedExportFailed: 0 };
  const exporter = countingExporter(
    new OTLPTraceExporter({ url: settings.tracesUrl, timeoutMillis: settings.exportTimeoutMs }),
    counts,
    exporterState,
  );
  const processor = boundedProcessor(
    new BatchSpanProcessor(exporter, { maxQueueSize: settings.maxQueueSize, maxExportBatchSize: Math.min(512, settings.maxQueueSize), scheduledDelayMillis: settings.scheduleDelayMs, exportTimeoutMillis: settings.exportTimeoutMs }),
    settings.maxQueueSize,
    counts,
  );
  // Spans leave the bound once their export settled, accepted or not.
  exporter.onSettled = processor.settled;
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': settings.serviceName,
      'service.version': settings.serviceVersion,
      'deployment.environment.name': settings.deploymentEnvironment,
    }),
    sampler: honouringRequestDecision(samplerFor(settings.sampler, settings.samplerRatio)),
    spanProcessors: [processor.processor],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const tracer = provider.getTracer('rampart');
  const fromTrustedProxy = trustedPeer(settings.trustedProxies);
  const requestSpans = new WeakMap<FastifyRequest, Span>();
  const sampleRequest = requestSampler(settings.sampler, settings.samplerRatio);

  // Every span here is started by this tracer, whose ids are valid by construction: no
  // re-validation per log line.
  const idsOf = (span: Span | undefined): TraceIds | undefined => {
    if (span === undefined) return undefined;
    const { traceId, spanId } = span.spanContext();
    return { traceId, spanId };
  };

  const httpSpans = fp(async (app: FastifyInstance) => {
    app.addHook('onRequest', (request, _reply, done) => {
      // Same rule as X-Forwarded-*: only a trusted proxy may continue a trace.
      const parent = request.headers.traceparent !== undefined && fromTrustedProxy(request.socket) ? propagator.extract(ROOT_CONTEXT, request.headers, headerGetter) : ROOT_CONTEXT;
      // A request whose trace is not sampled gets no span at all: no ids, no context, no trace
      // fields on its log lines (its correlation id remains). Creating a span that records
      // nothing cost a fifth of a request (bench/tracing.mjs).
      const decision = sampleRequest(parent);
      if (decision === false) return done();
      const span = tracer.startSpan(request.method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method, 'url.path': request.url.split('?')[0]! } }, decision ? parent.setValue(REQUEST_SAMPLED, true) : parent);
      requestSpans.set(request, span);
      context.with(trace.setSpan(parent, span), done);
    });
    app.addHook('onResponse', (request, reply, done) => {
      const span = requestSpans.get(request);
      if (span) {
        const route = request.routeOptions.url;
        span.updateName(route ? `${request.method} ${route}` : request.method);
        if (route) span.setAttribute('http.route', route);
        span.setAttribute('http.response.status_code', reply.statusCode);
        // A client's mistake is not our failure: only 5xx marks the server span as an error.
        if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      }
      done();
    });
  });

  return {
    httpSpans,
    requestTraceIds: (request) => idsOf(requestSpans.get(request)),
    activeTraceIds: () => idsOf(trace.getActiveSpan()),
    childSpan(name, attributes) {
      if (!trace.getActiveSpan()) return undefined;
      const span = tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes });
      return (error) => {
        if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : 'error' });
        span.end();
      };
    },
    currentTraceparent() {
      if (!trace.getActiveSpan()) return undefined;
      const carrier: Record<string, string> = {};
      propagator.inject(context.active(), carrier, recordSetter);
      return carrier.traceparent;
    },
    async inJobSpan(job, work) {
      const parent: Context = job.traceparent ? propagator.extract(ROOT_CONTEXT, { traceparent: job.traceparent }, headerGetter) : ROOT_CONTEXT;
      const span = tracer.startSpan(`job ${job.type}`, { kind: SpanKind.CONSUMER, attributes: { 'job.type': job.type, 'job.id': job.id, 'job.attempt': job.attempt } }, parent);
      try {
        return await context.with(trace.setSpan(parent, span), work);
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : 'error' });
        throw error;
      } finally {
        span.end();
      }
    },
    counts: () => ({ ...counts }),
    exporterStatus: (): ExporterStatus => ({ ...exporterState }),
    async shutdown() {
      await provider.shutdown().catch(() => undefined);
      context.disable();
    },
  };
}

const REQUEST_SAMPLED = createContextKey('rampart.request-sampled');

/**
 * The sampling decision for a request's trace, taken before any span exists, with the rule of
 * the configured sampler: the parent's flag for the `parentbased_*` ones when a trusted proxy
 * sent a `traceparent`, else the root rule (a ratio is a coin toss per new trace). Undefined
 * for plain `traceidratio`: it decides every span by its trace id, children included, so the
 * SDK decides the request's too and the trace stays whole.
 */
export function requestSampler(name: SamplerName, ratio: number, random: () => number = Math.random): (parent: Context) => boolean | undefined {
  if (name === 'traceidratio') return () => undefined;
  const root = name.endsWith('always_on') ? () => true : name.endsWith('always_off') ? () => false : () => random() < ratio;
  if (!name.startsWith('parentbased_')) return root;
  return (parent) => {
    const spanContext = trace.getSpanContext(parent);
    return spanContext !== undefined && trace.isSpanContextValid(spanContext) ? (spanContext.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED : root();
  };
}

/** The SDK's sampler, except that a request span decided above is recorded without being decided again. */
function honouringRequestDecision(inner: Sampler): Sampler {
  return {
    shouldSample: (parentContext, ...rest) =>
      parentContext.getValue(REQUEST_SAMPLED) === true ? { decision: SamplingDecision.RECORD_AND_SAMPLED } : inner.shouldSample(parentContext, ...rest),
    toString: () => `RequestDecided{${inner.toString()}}`,
  };
}

function samplerFor(name: SamplerName, ratio: number): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/**
 * The batch processor with a queue bound of our own: spans ended while `maxQueueSize` are
 * waiting or being exported are dropped and counted (the SDK's own count resets each time it
 * logs). A collector that is down or slow therefore costs memory up to the bound, never a
 * request.
 */
function boundedProcessor(inner: SpanProcessor, maxQueueSize: number, counts: { droppedQueueFull: number }) {
  let pending = 0;
  const processor: SpanProcessor = {
    onStart: (span, parentContext) => inner.onStart(span, parentContext),
    onEnd(span) {
      if (!(span.spanContext().traceFlags & 1)) return;
      if (pending >= maxQueueSize) {
        counts.droppedQueueFull++;
        return;
      }
      pending++;
      inner.onEnd(span);
    },
    forceFlush: () => inner.forceFlush(),
    shutdown: () => inner.shutdown(),
  };
  return { processor, settled: (spans: number) => (pending = Math.max(0, pending - spans)) };
}

function countingExporter(inner: SpanExporter, counts: { exported: number; droppedExportFailed: number }, state: { ok: boolean; details: string }): SpanExporter & { onSettled?: (spans: number) => void } {
  const exporter: SpanExporter & { onSettled?: (spans: number) => void } = {
    export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void) {
      inner.export(spans, (result) => {
        if (result.code === ExportResultCode.SUCCESS) {
          counts.exported += spans.length;
          state.ok = true;
          state.details = 'ok: last export accepted';
        } else {
          counts.droppedExportFailed += spans.length;
          state.ok = false;
          state.details = `error: last export failed (${result.error?.name ?? 'unknown'})`;
        }
        exporter.onSettled?.(spans.length);
        resultCallback(result);
      });
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
  };
  return exporter;
}
