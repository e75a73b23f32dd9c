import { PROBE_PATHS } from '../../platform/http/probe-paths.js';
import { matches, SLI_METRICS, sliEvents } from './sli-sources.js';
import { BURN_ALERTS, burnAnnotations, type BurnAlert } from './slo-rules.js';
import type { Slo, SloSpec } from './slo-spec.js';

/**
 * promtool unit tests for every generated alert: a series burning just above the alert's
 * rate is quiet before its `for` and firing after it; one just under never fires. Probe
 * traffic failing at a far higher rate rides along to show the SLI leaves probes out.
 */

// Events per minute: large enough that 1 % above or below a rate is a whole number of events.
const EVENTS_PER_MINUTE = 100_000;
const ABOVE = { factor: 1.01, round: Math.ceil, step: 1 };
const UNDER = { factor: 0.99, round: Math.floor, step: -1 };

interface SyntheticSeries {
  name: string;
  labels: Record<string, string>;
  perMinute: number;
}

export interface PromtoolTestFile {
  rule_files: string[];
  evaluation_interval: string;
  tests: unknown[];
}

export function sloRuleTests(spec: SloSpec, rulesFile: string): PromtoolTestFile {
  const tests = spec.slos.flatMap((slo) =>
    BURN_ALERTS.flatMap((alert) => [firesTest(spec, slo, alert), quietTest(spec, slo, alert)]),
  );
  return { rule_files: [rulesFile], evaluation_interval: '1m', tests };
}

function firesTest(spec: SloSpec, slo: Slo, alert: BurnAlert) {
  const series = unambiguous(spec, (nudge) => burning(slo, alert.factor, ABOVE, nudge));
  const forMinutes = minutes(alert.for);
  // Rates have two samples one minute in: pending from then, firing `for` later.
  const firingAt = forMinutes + 2;
  return {
    name: `${slo.name}: ${alert.alert} fires at ${alert.factor}× +1 % once burning for ${alert.for}`,
    interval: '1m',
    input_series: inputSeries(series, firingAt),
    alert_rule_test: [
      { eval_time: `${forMinutes}m`, alertname: alert.alert, exp_alerts: [] },
      { eval_time: `${firingAt}m`, alertname: alert.alert, exp_alerts: expectedAlerts(spec, alert, series) },
    ],
  };
}

function quietTest(spec: SloSpec, slo: Slo, alert: BurnAlert) {
  const series = unambiguous(spec, (nudge) => burning(slo, alert.factor, UNDER, nudge));
  const at = minutes(alert.for) + 2;
  return {
    name: `${slo.name}: ${alert.alert} stays quiet at ${alert.factor}× −1 %`,
    interval: '1m',
    input_series: inputSeries(series, at),
    alert_rule_test: [{ eval_time: `${at}m`, alertname: alert.alert, exp_alerts: expectedAlerts(spec, alert, series) }],
  };
}

/** Traffic in this SLO's scope burning its budget 1 % above or under `factor`, plus failing probes. */
function burning(slo: Slo, factor: number, side: typeof ABOVE, nudge: number): SyntheticSeries[] {
  const total = EVENTS_PER_MINUTE;
  const bad = Math.max(0, Math.min(total, side.round(factor * side.factor * slo.budget * total) + side.step * nudge));
  const source = SLI_METRICS[slo.sli.metric];
  const route = slo.sli.routes?.[0] ?? '/v1/documents';
  const type = slo.sli.jobTypes?.[0] ?? 'documents.extract-text';
  const probes = source.family === 'http' && !slo.sli.routes;
  const probe = [...PROBE_PATHS][1] ?? '/health';

  if (source.kind === 'availability') {
    if (source.family === 'http') {
      const base = { method: 'GET', route };
      return [
        { name: slo.sli.metric, labels: { ...base, status: '200' }, perMinute: total - bad },
        { name: slo.sli.metric, labels: { ...base, status: '500' }, perMinute: bad },
        ...(probes ? [{ name: slo.sli.metric, labels: { method: 'GET', route: probe, status: '503' }, perMinute: total }] : []),
      ];
    }
    return [
      { name: slo.sli.metric, labels: { type, outcome: 'completed' }, perMinute: total - bad },
      { name: slo.sli.metric, labels: { type, outcome: 'dead' }, perMinute: bad },
      // Retries are not outcomes: a storm of them must not count.
      { name: slo.sli.metric, labels: { type, outcome: 'retry' }, perMinute: total },
    ];
  }
  // Fast events land in the smallest bucket, slow ones in the first bucket past the threshold.
  const bounds = source.buckets as readonly number[];
  const threshold = slo.sli.thresholdSeconds!;
  const slowAt = bounds.find((b) => b > threshold) ?? Infinity;
  const labels: Record<string, string> = source.family === 'http' ? { method: 'GET', route, status: '200' } : { type, outcome: 'completed' };
  const histogram = (base: Record<string, string>, fast: number, slow: number, slowBound: number): SyntheticSeries[] => [
    ...bounds.map((le) => ({ name: `${slo.sli.metric}_bucket`, labels: { ...base, le: String(le) }, perMinute: fast + (le >= slowBound ? slow : 0) })),
    { name: `${slo.sli.metric}_bucket`, labels: { ...base, le: '+Inf' }, perMinute: fast + slow },
  ];
  return [
    ...histogram(labels, total - bad, bad, slowAt),
    ...(probes ? histogram({ method: 'GET', route: probe, status: '200' }, 0, total, Infinity) : []),
  ];
}

/**
 * The summary shows the burn rate to one decimal. Prometheus divides rates where this file
 * divides counts, so a burn of exactly x.x5 may round either way: traffic is nudged (further
 * from the alert's rate, never across it) until no SLO's burn sits on such a boundary.
 */
function unambiguous(spec: SloSpec, traffic: (nudge: number) => SyntheticSeries[]): SyntheticSeries[] {
  for (let nudge = 0; nudge < 100; nudge++) {
    const series = traffic(nudge);
    const onBoundary = spec.slos.some((slo) => {
      const tenths = (burnOf(slo, series) ?? 0) * 10;
      return Math.abs(tenths - Math.floor(tenths) - 0.5) < 1e-3;
    });
    if (!onBoundary) return series;
  }
  return traffic(0);
}

/** Every SLO's alert of this name that the traffic sets off, as promtool expects it. */
function expectedAlerts(spec: SloSpec, alert: BurnAlert, series: SyntheticSeries[]) {
  return spec.slos.flatMap((slo) => {
    const burn = burnOf(slo, series);
    if (burn === undefined || !(burn > alert.factor)) return [];
    return [{
      exp_labels: { severity: alert.severity, slo: slo.name, ...slo.labels },
      exp_annotations: burnAnnotations(slo, spec, alert, burn.toFixed(1)),
    }];
  });
}

/** What the generated rules compute for `slo` over constant traffic, in the same arithmetic. */
function burnOf(slo: Slo, series: SyntheticSeries[]): number | undefined {
  const events = sliEvents(slo.sli);
  const sum = (selector: Parameters<typeof matches>[0]) => {
    const hits = series.filter((s) => matches(selector, s.name, s.labels));
    return hits.length === 0 ? undefined : hits.reduce((acc, s) => acc + s.perMinute, 0);
  };
  const total = sum(events.total);
  if (total === undefined || total === 0) return undefined;
  if (events.kind === 'latency') {
    const good = sum(events.good);
    return good === undefined ? undefined : (1 - good / total) / slo.budget;
  }
  return (sum(events.bad) ?? 0) / total / slo.budget;
}

function inputSeries(series: SyntheticSeries[], untilMinute: number) {
  return series.map((s) => ({ series: `${s.name}{${Object.entries(s.labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`, values: `0+${s.perMinute}x${untilMinute + 1}` }));
}

function minutes(duration: string): number {
  const match = /^(\d+)([mhd])$/.exec(duration)!;
  return Number(match[1]) * { m: 1, h: 60, d: 1440 }[match[2] as 'm' | 'h' | 'd'];
}
