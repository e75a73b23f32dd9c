// What the rest of Rampart sees of tracing. Only types live here: the SDK is in
// start-tracing.ts, loaded by dynamic import when an OTLP endpoint is configured, so a
// process without one loads none of it and pays nothing per request.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';

export type SamplerName = 'always_on' | 'always_off' | 'traceidratio' | 'parentbased_always_on' | 'parentbased_always_off' | 'parentbased_traceidratio';

export interface TracingSettings {
  /** OTLP/HTTP traces URL (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT + `/v1/traces`). */
  tracesUrl: string;
  serviceName: string;
  serviceVersion: string;
  deploymentEnvironment: string;
  sampler: SamplerName;
  /** Ratio for the `*traceidratio` samplers, 0–1. */
  samplerRatio: number;
  /** Spans waiting for export; past it new ones are dropped and counted, never blocking a request. */
  maxQueueSize: number;
  /** Batches are sent at least this often. */
  scheduleDelayMs: number;
  /** An export that takes longer is abandoned (its spans counted as dropped). */
  exportTimeoutMs: number;
  /** Peers whose `traceparent` is continued (the proxies trusted for `X-Forwarded-*`); anyone else's starts a new trace. */
  trustedProxies: readonly string[];
}

export interface TraceIds {
  traceId: string;
  spanId: string;
}

export interface ExporterStatus {
  ok: boolean;
  details: string;
}

export interface Tracing {
  /** Root-level Fastify plugin: one server span per request, named by route pattern. */
  httpSpans: FastifyPluginAsync;
  /** The request's span ids, for its log line. */
  requestTraceIds(request: FastifyRequest): TraceIds | undefined;
  /** Ids of the span active now, for every other log line (pino mixin). */
  activeTraceIds(): TraceIds | undefined;
  /** Runs `work` inside a span (database statement, Redis command, outgoing call) when a trace is active. */
  childSpan(name: string, attributes: Record<string, string | number>): ((error?: unknown) => void) | undefined;
  /** The active context as a W3C `traceparent`, stored with an enqueued job. */
  currentTraceparent(): string | undefined;
  /** Runs a job inside a span that continues the trace of the request that enqueued it. */
  inJobSpan<T>(job: { type: string; id: string; attempt: number; traceparent: string | null }, work: () => Promise<T>): Promise<T>;
  /** Counters for /metrics: spans exported, dropped because the queue was full, dropped because an export failed. */
  counts(): { exported: number; droppedQueueFull: number; droppedExportFailed: number };
  exporterStatus(): ExporterStatus;
  /** Exports what is queued (bounded by the export timeout) and stops. */
  shutdown(): Promise<void>;
}
