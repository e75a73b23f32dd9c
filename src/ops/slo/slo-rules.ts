import { errorRatioExpr, renderSelector, sliEvents, SLI_METRICS } from './sli-sources.js';
import type { Slo, SloSpec } from './slo-spec.js';

/**
 * Multi-window, multi-burn-rate alerts (Google SRE workbook, ch. 5): each fires when both a
 * long and a short window burn faster than `factor` times the budget; the short window makes
 * it stop soon after the burning does. `for` durations are Pyrra's.
 */
export const BURN_ALERTS = [
  { alert: 'SLOBudgetBurn1h', severity: 'critical', factor: 14.4, long: '1h', short: '5m', for: '2m', spends: '2 % of the budget in 1 h' },
  { alert: 'SLOBudgetBurn6h', severity: 'critical', factor: 6, long: '6h', short: '30m', for: '15m', spends: '5 % of the budget in 6 h' },
  { alert: 'SLOBudgetBurn1d', severity: 'warning', factor: 3, long: '1d', short: '2h', for: '1h', spends: '10 % of the budget in 1 d' },
  { alert: 'SLOBudgetBurn3d', severity: 'warning', factor: 1, long: '3d', short: '6h', for: '3h', spends: '10 % of the budget in 3 d' },
] as const;

export type BurnAlert = (typeof BURN_ALERTS)[number];

/** Windows evaluated every minute, and the long ones evaluated every 2 minutes (a 3-day range is costly). */
const SHORT_WINDOWS = ['5m', '30m', '1h', '2h', '6h'];
const LONG_WINDOWS = ['1d', '3d'];
// Half the 5-minute lookback: a late evaluation never leaves the alerts reading no data.
const LONG_INTERVAL = '2m';

export interface RecordingRule {
  record: string;
  expr: string;
  labels: Record<string, string>;
}

export interface AlertingRule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  interval?: string;
  rules: Array<RecordingRule | AlertingRule>;
}

export function sloRuleGroups(spec: SloSpec): RuleGroup[] {
  return spec.slos.flatMap((slo) => groupsFor(slo, spec));
}

function groupsFor(slo: Slo, spec: SloSpec): RuleGroup[] {
  const labels = { slo: slo.name, ...slo.labels };
  const own = `{slo="${slo.name}"}`;
  const record = (name: string, expr: string): RecordingRule => ({ record: name, expr, labels });
  const ratio = (window: string) => record(`slo:sli_error:ratio_rate${window}`, errorRatioExpr(slo.sli, window));
  const burn = (window: string) => record(`slo:burn_rate:${window}`, `slo:sli_error:ratio_rate${window}${own} / ${slo.budget}`);
  const kind = SLI_METRICS[slo.sli.metric].kind;

  const current: RecordingRule[] = [
    record('slo:objective:ratio', `vector(${slo.target})`),
    ...SHORT_WINDOWS.map(ratio),
    ...SHORT_WINDOWS.map(burn),
  ];
  if (kind === 'availability') current.push(record('slo:error_rate:ratio', `slo:sli_error:ratio_rate5m${own}`));
  else {
    const events = sliEvents(slo.sli);
    const bucket = renderSelector({ name: events.total.name, matchers: events.total.matchers.filter((m) => m.label !== 'le') });
    current.push(record(quantileRecord(slo.objective), `histogram_quantile(${slo.target}, sum by (le) (rate(${bucket}[5m])))`));
  }

  const long: RecordingRule[] = [
    ...LONG_WINDOWS.map(ratio),
    ...LONG_WINDOWS.map(burn),
    ratio(spec.window),
    record('slo:error_budget:remaining', `1 - slo:sli_error:ratio_rate${spec.window}${own} / ${slo.budget}`),
  ];
  if (kind === 'availability') long.push(record('slo:availability:ratio', `1 - slo:sli_error:ratio_rate${spec.window}${own}`));

  return [
    { name: `slo-${slo.name}`, rules: current },
    { name: `slo-${slo.name}-long`, interval: LONG_INTERVAL, rules: long },
    { name: `slo-${slo.name}-alerts`, rules: BURN_ALERTS.map((a) => burnAlert(slo, spec, a)) },
  ];
}

function burnAlert(slo: Slo, spec: SloSpec, a: BurnAlert): AlertingRule {
  const own = `{slo="${slo.name}"}`;
  return {
    alert: a.alert,
    expr: `slo:burn_rate:${a.long}${own} > ${a.factor} and slo:burn_rate:${a.short}${own} > ${a.factor}`,
    for: a.for,
    labels: { severity: a.severity, slo: slo.name, ...slo.labels },
    annotations: burnAnnotations(slo, spec, a, '{{ $value | printf "%.1f" }}'),
  };
}

/** The annotations as Prometheus renders them with `value` in place of the current burn rate. */
export function burnAnnotations(slo: Slo, spec: SloSpec, a: BurnAlert, value: string): Record<string, string> {
  return {
    summary: `SLO ${slo.name}: error budget burning ${value}× over ${a.long} (alert above ${a.factor}×)`,
    description: `${slo.description ?? `SLO ${slo.name}`} Objective ${slo.objective} % over ${spec.window}. At ${a.factor}× and more (over ${a.long}, still over ${a.short}) the burn spends ${a.spends}.`,
    runbook_url: `${spec.runbooks}/${a.alert}.md`,
  };
}

/** `slo:latency:p95` for a 95 % objective, `slo:latency:p99_9` for 99.9 %. */
export const quantileRecord = (objective: number) => `slo:latency:p${String(objective).replace('.', '_')}`;
