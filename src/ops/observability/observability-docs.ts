import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { dashboardSpecs } from '../dashboards/boards.js';
import type { SloSpec } from '../slo/slo-spec.js';
import { METRIC_CATALOGUE } from './metric-catalogue.js';

/**
 * The README's generated observability sections (metrics, alerts, dashboards), rendered from
 * the sources themselves so a test can hold the README to them. Regenerate with
 * `npm run observability:generate`.
 */

export interface AlertRule {
  file: string;
  group: string;
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** Every alerting rule in the rule files under `dir` (recursively), in file order. */
export function loadAlertRules(dir: string): AlertRule[] {
  const rules: AlertRule[] = [];
  for (const file of ruleFiles(dir)) {
    const doc = parse(readFileSync(file, 'utf8')) as { groups: Array<{ name: string; rules: Array<Partial<AlertRule> & { record?: string }> }> };
    for (const group of doc.groups) {
      for (const rule of group.rules) {
        if (!rule.alert) continue;
        rules.push({ file: relative(dir, file), group: group.name, alert: rule.alert, expr: rule.expr!, for: rule.for, labels: rule.labels ?? {}, annotations: rule.annotations ?? {} });
      }
    }
  }
  return rules;
}

export function ruleFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.rules.yml'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

export function metricsCatalogueMarkdown(): string {
  const lines: string[] = [];
  for (const source of METRIC_CATALOGUE) {
    lines.push(`**${source.source}** — ${source.origin}`, '', '| metric | type | labels | meaning | status |', '|---|---|---|---|---|');
    for (const m of source.metrics) {
      const status = m.status ? (m.status === 'exported' ? 'exported since 0.1.0' : 'planned') : 'exporter';
      lines.push(`| \`${m.name}\` | ${m.type} | ${m.labels.map((l) => `\`${l}\``).join(', ') || '—'} | ${m.meaning.replace(/\|/g, '\\|')} | ${status} |`);
    }
    lines.push('');
  }
  return lines.join('\n').trimEnd();
}

/** One line per alert, in rule-file order; an SLO alert once, however many SLOs share it. */
export function alertListMarkdown(rules: AlertRule[]): string {
  const seen = new Set<string>();
  const lines = ['| alert | severity | for | fires when | rule file | runbook |', '|---|---|---|---|---|---|'];
  for (const rule of rules) {
    if (seen.has(rule.alert)) continue;
    seen.add(rule.alert);
    const when = rule.labels.slo !== undefined
      ? `every SLO of the spec: \`${rule.expr.replace(/\{slo="[^"]*"\}/g, '')}\``
      : `\`${rule.expr.replace(/\s+/g, ' ').trim()}\``;
    lines.push(`| ${rule.alert} | ${rule.labels.severity} | ${rule.for ?? '—'} | ${when.replace(/\|/g, '\\|')} | ${rule.file} | [runbook](${rule.annotations.runbook_url}) |`);
  }
  return lines.join('\n');
}

export function dashboardsMarkdown(spec: SloSpec): string {
  const lines: string[] = [];
  for (const board of dashboardSpecs(spec)) {
    lines.push(`**${board.title}** (\`deploy/grafana/dashboards/${board.uid}.json\`): ${board.description}`, '', '| panel | query |', '|---|---|');
    let row = '';
    for (const item of board.items) {
      if ('row' in item) {
        row = item.row;
        continue;
      }
      const title = board.uid === 'rampart-slo' ? `${row.split(':')[0]} · ${item.title}` : item.title;
      lines.push(`| ${title} | ${item.queries.map((q) => `\`${q.expr.replace(/\|/g, '\\|')}\``).join('<br>')} |`);
    }
    lines.push('');
  }
  return lines.join('\n').trimEnd();
}

/** `text` with the part between `<!-- name:start -->` and `<!-- name:end -->` replaced by `content`. */
export function withSection(text: string, name: string, content: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from === -1 || to === -1) throw new Error(`the README has no ${start} … ${end} section`);
  return `${text.slice(0, from + start.length)}\n${content}\n${text.slice(to)}`;
}
