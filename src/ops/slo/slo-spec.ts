import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type Pair } from 'yaml';
import { SLI_METRICS, type SliMetric } from './sli-sources.js';

/**
 * The SLO spec: one YAML file declares every SLO; `rampart slo generate` turns it into rules,
 * alerts and tests. Every mistake is reported with its file, line and field, all at once.
 *
 * ```yaml
 * version: 1
 * window: 30d                  # the SLO period; the error budget is counted over it
 * runbooks: docs/runbooks      # prefix of every alert's runbook_url
 * slos:
 *   - name: availability
 *     objective: 99.5          # percent of good events; below 100
 *     sli: { metric: http_requests_total }
 *   - name: documents-latency  # a team's own: one route, a label to route its alerts
 *     objective: 99
 *     labels: { team: documents }
 *     sli: { metric: http_request_duration_seconds, threshold: 1s, routes: [/v1/documents] }
 * ```
 */
export interface SloSpec {
  file: string;
  window: string;
  runbooks: string;
  slos: Slo[];
}

export interface Slo {
  name: string;
  description?: string;
  /** Percent, e.g. 99.5. */
  objective: number;
  /** The objective as a ratio, e.g. 0.995. */
  target: number;
  /** Share of events allowed to be bad over the window, e.g. 0.005. */
  budget: number;
  /** Extra labels on every rule and alert of this SLO (to route a team's alerts). */
  labels: Record<string, string>;
  sli: Sli;
}

export interface Sli {
  metric: SliMetric;
  /** Latency SLIs: a request or job is good when it took at most this long. */
  thresholdSeconds?: number;
  /** HTTP SLIs: only these route patterns (default: every route but the probes). */
  routes?: string[];
  /** Job SLIs: only these job types (default: all). */
  jobTypes?: string[];
}

export interface SpecProblem {
  line: number;
  column: number;
  field: string;
  message: string;
}

export class SloSpecError extends Error {
  constructor(readonly file: string, readonly problems: SpecProblem[]) {
    super(problems.map((p) => `${file}:${p.line}:${p.column}: ${p.field}: ${p.message}`).join('\n'));
  }
}

/** Burn-rate alert windows reach back 3 days; the window must hold them and stay a sane period. */
const WINDOW_DAYS = { min: 7, max: 90 };
// The fastest page fires at 14.4× the budget: an objective whose budget × 14.4 reaches 100 %
// could never page, so it is refused rather than silently never alerting.
const FASTEST_BURN = 14.4;
const NAME = /^[a-z][a-z0-9-]{0,62}$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const RESERVED_LABELS = new Set(['slo', 'severity', 'alertname', '__name__', 'le']);

const TOP_KEYS = ['version', 'window', 'runbooks', 'slos'];
const SLO_KEYS = ['name', 'description', 'objective', 'labels', 'sli'];
const SLI_KEYS = ['metric', 'threshold', 'routes', 'job_types'];

export function parseSloSpec(text: string, file: string): SloSpec {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problems: SpecProblem[] = [];
  const at = (node: Node | Pair['key'] | null | undefined, field: string, message: string) => {
    const range = node && typeof node === 'object' && 'range' in node ? (node.range as [number, number, number] | undefined) : undefined;
    const offset = range ? range[0] : 0;
    const { line, col } = lineCounter.linePos(offset);
    problems.push({ line, column: col, field, message });
  };
  for (const err of doc.errors) {
    const pos = err.linePos?.[0] ?? { line: 1, col: 1 };
    problems.push({ line: pos.line, column: pos.col, field: '(yaml)', message: err.message.split('\n')[0]! });
  }
  if (problems.length > 0) throw new SloSpecError(file, problems);

  const root = doc.contents;
  if (!isMap(root)) {
    at(root, '(document)', 'expected a mapping with version, window, runbooks and slos');
    throw new SloSpecError(file, problems);
  }
  unknownKeys(root, TOP_KEYS, '', at);

  const version = valueOf(doc, ['version']);
  if (version.node === undefined) at(root, 'version', 'required (1)');
  else if (version.value !== 1) at(version.node, 'version', `unsupported version ${JSON.stringify(version.value)}; this Rampart reads version 1`);

  const window = valueOf(doc, ['window']);
  const windowText = typeof window.value === 'string' ? window.value : '30d';
  if (window.node !== undefined) checkWindow(window.value, (message) => at(window.node, 'window', message));

  const runbooks = valueOf(doc, ['runbooks']);
  let runbooksText = 'docs/runbooks';
  if (runbooks.node !== undefined) {
    if (typeof runbooks.value !== 'string' || runbooks.value.trim() === '') at(runbooks.node, 'runbooks', 'expected a path or URL prefix, e.g. docs/runbooks');
    else runbooksText = runbooks.value.replace(/\/+$/, '');
  }

  const slosNode = doc.get('slos', true) as Node | undefined;
  const slos: Slo[] = [];
  if (slosNode === undefined) at(root, 'slos', 'required: a list of SLOs');
  else if (!isSeq(slosNode) || slosNode.items.length === 0) at(slosNode, 'slos', 'expected a non-empty list of SLOs');
  else {
    const seen = new Map<string, number>();
    slosNode.items.forEach((item, i) => {
      const slo = parseSlo(doc, item as Node, i, at);
      if (!slo) return;
      const first = seen.get(slo.name);
      if (first !== undefined) at(valueOf(doc, ['slos', i, 'name']).node, `slos[${i}].name`, `"${slo.name}" is already the name of slos[${first}]`);
      else seen.set(slo.name, i);
      slos.push(slo);
    });
  }
  if (problems.length > 0) throw new SloSpecError(file, problems);
  return { file, window: windowText, runbooks: runbooksText, slos };
}

type At = (node: Node | Pair['key'] | null | undefined, field: string, message: string) => void;

function parseSlo(doc: Document, node: Node, i: number, at: At): Slo | undefined {
  const field = (name: string) => `slos[${i}].${name}`;
  if (!isMap(node)) {
    at(node, `slos[${i}]`, 'expected a mapping with name, objective and sli');
    return undefined;
  }
  unknownKeys(node, SLO_KEYS, `slos[${i}].`, at);
  const get = (...path: Array<string | number>) => valueOf(doc, ['slos', i, ...path]);
  let ok = true;
  const fail: At = (n, f, m) => {
    ok = false;
    at(n, f, m);
  };

  const name = get('name');
  if (name.node === undefined) fail(node, field('name'), 'required');
  else if (typeof name.value !== 'string' || !NAME.test(name.value)) fail(name.node, field('name'), 'expected lower-case letters, digits and dashes, starting with a letter (it becomes the `slo` label)');

  const description = get('description');
  if (description.node !== undefined && typeof description.value !== 'string') fail(description.node, field('description'), 'expected text');

  const objective = get('objective');
  let budget = 0;
  if (objective.node === undefined) fail(node, field('objective'), 'required: the percentage of good events, e.g. 99.5');
  else if (typeof objective.value !== 'number' || !Number.isFinite(objective.value)) fail(objective.node, field('objective'), `expected a percentage below 100 such as 99.5, not ${JSON.stringify(objective.value)}`);
  else if (objective.value >= 100) fail(objective.node, field('objective'), `${objective.value} % leaves no error budget; an objective must be below 100 %`);
  else if (objective.value <= 0) fail(objective.node, field('objective'), `${objective.value} % is not a percentage above 0`);
  else {
    budget = roundRatio((100 - objective.value) / 100);
    const floor = roundRatio(100 - 100 / FASTEST_BURN);
    if (budget * FASTEST_BURN >= 1) fail(objective.node, field('objective'), `${objective.value} % leaves a budget so large that a ${FASTEST_BURN}× burn is more than every event failing: the page alert could never fire; use at least ${floor} %`);
  }

  const labels: Record<string, string> = {};
  const labelsNode = get('labels').node;
  if (labelsNode !== undefined) {
    if (!isMap(labelsNode)) fail(labelsNode, field('labels'), 'expected a mapping of label names to values');
    else {
      for (const pair of labelsNode.items) {
        const key = isScalar(pair.key) ? pair.key.value : undefined;
        const value = isScalar(pair.value) ? pair.value.value : undefined;
        if (typeof key !== 'string' || !LABEL_NAME.test(key)) fail(pair.key as Node, field('labels'), `${JSON.stringify(key)} is not a Prometheus label name`);
        else if (RESERVED_LABELS.has(key)) fail(pair.key as Node, field(`labels.${key}`), `"${key}" is set by the generator; choose another name`);
        else if (typeof value !== 'string' && typeof value !== 'number') fail((pair.value ?? pair.key) as Node, field(`labels.${key}`), 'expected a text value');
        else labels[key] = String(value);
      }
    }
  }

  const sliNode = get('sli').node;
  let sli: Sli | undefined;
  if (sliNode === undefined) fail(node, field('sli'), 'required: { metric: ... }');
  else if (!isMap(sliNode)) fail(sliNode, field('sli'), 'expected a mapping with metric (and threshold, routes or job_types)');
  else sli = parseSli(doc, sliNode, i, fail);

  if (!ok || !sli) return undefined;
  return {
    name: name.value as string,
    ...(typeof description.value === 'string' ? { description: description.value } : {}),
    objective: objective.value as number,
    target: roundRatio((objective.value as number) / 100),
    budget,
    labels,
    sli,
  };
}

function parseSli(doc: Document, node: Node, i: number, fail: At): Sli | undefined {
  const field = (name: string) => `slos[${i}].sli.${name}`;
  const get = (name: string) => valueOf(doc, ['slos', i, 'sli', name]);
  unknownKeys(node as Parameters<typeof unknownKeys>[0], SLI_KEYS, `slos[${i}].sli.`, fail);
  const metric = get('metric');
  if (metric.node === undefined) {
    fail(node, field('metric'), `required: one of ${Object.keys(SLI_METRICS).join(', ')}`);
    return undefined;
  }
  const source = typeof metric.value === 'string' ? SLI_METRICS[metric.value as SliMetric] : undefined;
  if (!source) {
    fail(metric.node, field('metric'), `unknown metric ${JSON.stringify(metric.value)}; an SLI is built on one of ${Object.keys(SLI_METRICS).join(', ')}`);
    return undefined;
  }
  const sli: Sli = { metric: metric.value as SliMetric };
  let ok = true;
  const bad: At = (n, f, m) => {
    ok = false;
    fail(n, f, m);
  };

  const threshold = get('threshold');
  if (source.kind === 'latency') {
    if (threshold.node === undefined) bad(node, field('threshold'), `required for a latency SLI: one of the histogram's bounds (${source.buckets!.map(formatSeconds).join(', ')})`);
    else {
      const seconds = parseSeconds(threshold.value);
      if (seconds === undefined) bad(threshold.node, field('threshold'), `expected a duration such as 500ms or 1s, not ${JSON.stringify(threshold.value)}`);
      else if (!(source.buckets as readonly number[]).includes(seconds)) bad(threshold.node, field('threshold'), `${formatSeconds(seconds)} is not a bucket bound of ${sli.metric}; it must be one of ${source.buckets!.map(formatSeconds).join(', ')} so the SLI is counted exactly`);
      else sli.thresholdSeconds = seconds;
    }
  } else if (threshold.node !== undefined) bad(threshold.node, field('threshold'), `${sli.metric} counts errors, not durations; a threshold needs a latency metric (${latencyMetricFor(source.family)})`);

  const routes = get('routes');
  if (routes.node !== undefined) {
    if (source.family !== 'http') bad(routes.node, field('routes'), `${sli.metric} has no routes; choose job types with job_types`);
    else {
      const list = stringList(routes.value);
      if (!list || list.some((r) => !r.startsWith('/'))) bad(routes.node, field('routes'), 'expected a list of route patterns as Rampart labels them, e.g. [/v1/documents, /v1/documents/:id]');
      else sli.routes = list;
    }
  }
  const jobTypes = get('job_types');
  if (jobTypes.node !== undefined) {
    if (source.family !== 'jobs') bad(jobTypes.node, field('job_types'), `${sli.metric} has no job types; choose routes with routes`);
    else {
      const list = stringList(jobTypes.value);
      if (!list) bad(jobTypes.node, field('job_types'), 'expected a list of job types, e.g. [documents.extract-text]');
      else sli.jobTypes = list;
    }
  }
  return ok ? sli : undefined;
}

function checkWindow(value: unknown, report: (message: string) => void): void {
  const match = typeof value === 'string' ? /^([1-9][0-9]*)([dw])$/.exec(value) : null;
  if (!match) {
    report(`${JSON.stringify(value)} is not a window; write days or weeks as Prometheus does, e.g. 30d or 4w`);
    return;
  }
  const days = Number(match[1]) * (match[2] === 'w' ? 7 : 1);
  if (days < WINDOW_DAYS.min || days > WINDOW_DAYS.max) report(`${value} is outside ${WINDOW_DAYS.min}d–${WINDOW_DAYS.max}d (the alerts look back 3 days; the budget needs a period longer than that)`);
}

function unknownKeys(map: { items: Pair[] }, allowed: string[], prefix: string, at: At): void {
  for (const pair of map.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    if (!allowed.includes(key)) {
      const near = allowed.find((a) => editDistance(a, key) <= 2);
      at(pair.key as Node, `${prefix}${key}`, `unknown field${near ? `; did you mean "${near}"?` : `; expected one of ${allowed.join(', ')}`}`);
    }
  }
}

function valueOf(doc: Document, path: Array<string | number>): { node: Node | undefined; value: unknown } {
  const node = doc.getIn(path, true) as Node | undefined;
  if (node === undefined || node === null) return { node: undefined, value: undefined };
  return { node, value: isScalar(node) ? node.value : (node as { toJSON(): unknown }).toJSON() };
}

function stringList(value: unknown): string[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  return value.every((v) => typeof v === 'string' && v.length > 0) ? (value as string[]) : undefined;
}

function parseSeconds(value: unknown): number | undefined {
  const match = typeof value === 'string' ? /^(\d+(?:\.\d+)?)(ms|s)$/.exec(value) : null;
  if (!match) return undefined;
  return match[2] === 'ms' ? Number(match[1]) / 1000 : Number(match[1]);
}

export const formatSeconds = (seconds: number): string => (seconds < 1 ? `${Math.round(seconds * 1000)}ms` : `${seconds}s`);

const latencyMetricFor = (family: string) => Object.entries(SLI_METRICS).find(([, s]) => s.family === family && s.kind === 'latency')?.[0];

/** Budgets as short decimals (0.005, not 0.0050000000000000044), so rules read as written. */
const roundRatio = (x: number) => Number(x.toPrecision(10));

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}
