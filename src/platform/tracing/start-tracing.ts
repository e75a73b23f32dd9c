import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
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
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type Sampler,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import proxyAddr from 'proxy-addr';
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
    sampler: samplerFor(settings.sampler, settings.samplerRatio),
    spanProcessors: [processor.processor],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const tracer = provider.getTracer('rampart');
  const trusted = proxyAddr.compile([...settings.trustedProxies]);
  const requestSpans = new WeakMap<FastifyRequest, Span>();

  const idsOf = (span: Span | undefined): TraceIds | undefined => {
    const spanContext = span?.spanContext();
    return spanContext && trace.isSpanContextValid(spanContext) ? { traceId: spanContext.traceId, spanId: spanContext.spanId } : undefined;
  };

  const httpSpans = fp(async (app: FastifyInstance) => {
    app.addHook('onRequest', (request, _reply, done) => {
      // Same rule as X-Forwarded-*: only a trusted proxy may continue a trace.
      const peer = request.socket.remoteAddress;
      const parent = peer !== undefined && trusted(peer, 0) ? propagator.extract(ROOT_CONTEXT, request.headers, headerGetter) : ROOT_CONTEXT;
      const span = tracer.startSpan(request.method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method, 'url.path': request.url.split('?')[0]! } }, parent);
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
