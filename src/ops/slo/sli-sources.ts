import { HTTP_DURATION_BUCKETS } from '../../platform/metrics/registry.js';
import { PROBE_PATHS } from '../../platform/http/probe-paths.js';
import { JOB_DURATION_BUCKETS } from '../../platform/queue/job-worker.js';
import type { Sli } from './slo-spec.js';

/**
 * The metrics an SLI can be built on, and how each one splits into bad and total events.
 * A selector is kept as data, so the same matchers render PromQL for the rules and decide,
 * in the generated promtool tests, which SLOs a synthetic series belongs to.
 */
export const SLI_METRICS = {
  http_requests_total: { family: 'http', kind: 'availability' },
  http_request_duration_seconds: { family: 'http', kind: 'latency', buckets: HTTP_DURATION_BUCKETS },
  jobs_processed_total: { family: 'jobs', kind: 'availability' },
  job_duration_seconds: { family: 'jobs', kind: 'latency', buckets: JOB_DURATION_BUCKETS },
} as const satisfies Record<string, { family: 'http' | 'jobs'; kind: 'availability' | 'latency'; buckets?: readonly number[] }>;

export type SliMetric = keyof typeof SLI_METRICS;

export interface Matcher {
  label: string;
  op: '=' | '=~' | '!~';
  value: string;
}

export interface Selector {
  /** The series name as scraped (histograms: the `_bucket` series). */
  name: string;
  matchers: Matcher[];
}

/**
 * The events of an SLI, each a counter selector to take the rate of. Availability counts bad
 * events; latency counts good ones (the threshold's bucket), so bad = total − good.
 */
export type SliEvents = { kind: 'availability'; bad: Selector; total: Selector } | { kind: 'latency'; good: Selector; total: Selector };

export function sliEvents(sli: Sli): SliEvents {
  const source = SLI_METRICS[sli.metric];
  const scope = scopeOf(sli);
  if (source.kind === 'availability') {
    const [badMatcher, totalMatchers] = source.family === 'http'
      ? [{ label: 'status', op: '=~', value: '5..' } as const, []]
      // A job is bad once it is dead (attempts used up); retries and lost leases are on the way to an outcome.
      : [{ label: 'outcome', op: '=', value: 'dead' } as const, [{ label: 'outcome', op: '=~', value: 'completed|dead' } as const]];
    return {
      kind: 'availability',
      bad: { name: sli.metric, matchers: [...scope, badMatcher] },
      total: { name: sli.metric, matchers: [...scope, ...totalMatchers] },
    };
  }
  const bucket = `${sli.metric}_bucket`;
  const good = { name: bucket, matchers: [...scope, { label: 'le', op: '=', value: String(sli.thresholdSeconds) } as const] };
  return { kind: 'latency', good, total: { name: bucket, matchers: [...scope, { label: 'le', op: '=', value: '+Inf' }] } };
}

/** Which events an SLO speaks for: its routes or job types, and never the probes. */
export function scopeOf(sli: Sli): Matcher[] {
  if (sli.routes) return [{ label: 'route', op: '=~', value: anyOf(sli.routes) }];
  if (sli.jobTypes) return [{ label: 'type', op: '=~', value: anyOf(sli.jobTypes) }];
  return SLI_METRICS[sli.metric].family === 'http' ? [{ label: 'route', op: '!~', value: anyOf([...PROBE_PATHS]) }] : [];
}

/** The share of bad events over `range`, as PromQL. */
export function errorRatioExpr(sli: Sli, range: string): string {
  const events = sliEvents(sli);
  const rate = (s: Selector) => `sum(rate(${renderSelector(s)}[${range}]))`;
  if (events.kind === 'latency') return `1 - ${rate(events.good)} / ${rate(events.total)}`;
  // No bad series yet (no 5xx since start) must read as 0 %, not as no data.
  return `(${rate(events.bad)} or vector(0)) / ${rate(events.total)}`;
}

export function renderSelector(selector: Selector): string {
  if (selector.matchers.length === 0) return selector.name;
  return `${selector.name}{${selector.matchers.map((m) => `${m.label}${m.op}${JSON.stringify(m.value)}`).join(',')}}`;
}

export function matches(selector: Selector, name: string, labels: Record<string, string>): boolean {
  if (selector.name !== name) return false;
  return selector.matchers.every((m) => {
    const value = labels[m.label] ?? '';
    if (m.op === '=') return value === m.value;
    const hit = new RegExp(`^(?:${m.value})$`).test(value);
    return m.op === '=~' ? hit : !hit;
  });
}

// Route patterns hold regex characters (`*` in wildcards); PromQL regexes are anchored RE2.
const anyOf = (values: string[]) => values.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
