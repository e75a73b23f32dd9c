// Tracing for a process, when an OTLP endpoint is configured: the SDK is imported here and
// only here, so a process without one never loads it.
import type { Config } from '../config/schema.js';
import type { Platform } from '../feature.js';
import { packageVersion } from '../package-info.js';
import type { QueryObserver } from '../platform/db/observed-dialect.js';
import type { Metrics } from '../platform/metrics/registry.js';
import type { OutgoingObserver } from '../platform/outgoing/outgoing-calls.js';
import type { CommandObserver } from '../platform/redis/observed-commands.js';
import type { SamplerName, Tracing } from '../platform/tracing/tracing.js';

export async function startTracingIfConfigured(config: Config, roles: Platform['roles']): Promise<Tracing | undefined> {
  const tracesUrl = config.otelTracesEndpoint ?? (config.otelEndpoint ? `${config.otelEndpoint.replace(/\/+$/, '')}/v1/traces` : undefined);
  if (tracesUrl === undefined) return undefined;
  const { startTracing } = await import('../platform/tracing/start-tracing.js');
  return startTracing({
    tracesUrl,
    serviceName: config.otelServiceName ?? (roles.web ? 'rampart-web' : 'rampart-worker'),
    serviceVersion: packageVersion,
    deploymentEnvironment: config.env,
    sampler: config.otelTracesSampler as SamplerName,
    samplerRatio: Number(config.otelTracesSamplerArg),
    maxQueueSize: config.otelBspMaxQueueSize,
    scheduleDelayMs: config.otelBspScheduleDelayMs,
    exportTimeoutMs: config.otelExporterTimeoutMs,
    trustedProxies: config.trustedProxies,
  });
}

/** Log fields of the span active when a line is written. */
export function traceLogFields(tracing: Tracing): () => Record<string, unknown> {
  return () => {
    const ids = tracing.activeTraceIds();
    return ids ? { trace_id: ids.traceId, span_id: ids.spanId } : {};
  };
}

/** A statement as a span: the SQL as compiled, with placeholders, never the parameter values. */
export function querySpans(tracing: Tracing, system: 'postgresql'): QueryObserver {
  return (query) => tracing.childSpan(`db ${query.sql.trimStart().split(/\s/, 1)[0]!.toLowerCase()}`, { 'db.system.name': system, 'db.query.text': query.sql }) ?? noop;
}

/** S3 requests and SMTP sends as client spans. */
export function outgoingSpans(tracing: Tracing): OutgoingObserver {
  return (call) => tracing.childSpan(call.name, call.attributes) ?? noop;
}

export function commandSpans(tracing: Tracing): CommandObserver {
  return (command) => tracing.childSpan(`redis ${command}`, { 'db.system.name': 'redis', 'db.operation.name': command }) ?? noop;
}

export function registerTracingMetrics(metrics: Metrics, tracing: Tracing): void {
  metrics.counter('otel_spans_exported_total', 'Spans the OTLP collector accepted.', [], (set) => set({}, tracing.counts().exported));
  metrics.counter('otel_spans_dropped_total', 'Spans never delivered: the export queue was full (collector slow or down) or an export failed.', ['reason'], (set) => {
    const counts = tracing.counts();
    set({ reason: 'queue_full' }, counts.droppedQueueFull);
    set({ reason: 'export_failed' }, counts.droppedExportFailed);
  });
}

/** Both observers see every event. */
export function observeBoth<Args extends unknown[]>(a: (...args: Args) => (error?: unknown) => void, b: ((...args: Args) => (error?: unknown) => void) | undefined) {
  if (!b) return a;
  return (...args: Args) => {
    const doneA = a(...args);
    const doneB = b(...args);
    return (error?: unknown) => {
      doneA(error);
      doneB(error);
    };
  };
}

const noop = () => {};
