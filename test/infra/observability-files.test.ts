import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { dashboardSpecs } from '../../src/ops/dashboards/boards.js';
import { knownSeriesNames } from '../../src/ops/observability/metric-catalogue.js';
import { alertListMarkdown, dashboardsMarkdown, loadAlertRules, metricsCatalogueMarkdown, ruleFiles, withSection } from '../../src/ops/observability/observability-docs.js';
import { parseSloSpec } from '../../src/ops/slo/slo-spec.js';
import { AMTOOL, PROMTOOL, runTool } from '../support/prometheus-tools.js';
import { repoRoot, runCli } from '../support/rampart-process.js';

const prometheusDir = join(repoRoot, 'deploy', 'prometheus');
const specFile = 'deploy/slo/rampart.slo.yaml';
const spec = parseSloSpec(readFileSync(join(repoRoot, specFile), 'utf8'), specFile);
const rules = loadAlertRules(prometheusDir);

/** Metric names a PromQL expression selects (recording-rule names included). */
function selectedNames(expr: string): string[] {
  const names: string[] = [];
  parser.parse(expr).iterate({
    enter(node) {
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') names.push(expr.slice(node.from, node.to));
    },
  });
  return names;
}

const recordedNames = (): Set<string> => {
  const names = new Set<string>();
  for (const file of ruleFiles(prometheusDir)) {
    for (const group of (parse(readFileSync(file, 'utf8')) as { groups: Array<{ rules: Array<{ record?: string }> }> }).groups)
      for (const rule of group.rules) if (rule.record) names.add(rule.record);
  }
  return names;
};

describe('shipped observability files', () => {
  it('the committed SLO rules, tests and dashboards are what `rampart slo generate` writes from the shipped spec', async () => {
    const run = await runCli(['slo', 'generate', '--check', '--spec', join(repoRoot, specFile), '--out', join(prometheusDir, 'slo'), '--dashboards', join(repoRoot, 'deploy/grafana/dashboards')]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });

  it('promtool checks every rule file and passes every test file under deploy/prometheus, and the example configuration', async () => {
    const files = ruleFiles(prometheusDir);
    expect(files.length).toBeGreaterThanOrEqual(10);
    const check = await runTool(PROMTOOL, ['check', 'rules', ...files]);
    expect(check.output).not.toContain('FAILED');
    expect(check.code).toBe(0);
    const tests = readdirSync(prometheusDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.test.yml')).map((f) => join(prometheusDir, f));
    expect(tests.map((t) => t.slice(prometheusDir.length + 1)).sort()).toEqual(files.map((f) => f.slice(prometheusDir.length + 1).replace('.rules.yml', '.test.yml')).sort());
    for (const test of tests) {
      const result = await runTool(PROMTOOL, ['test', 'rules', test]);
      expect(result.output, test).toContain('SUCCESS');
      expect(result.code, test).toBe(0);
    }
    const config = await runTool(PROMTOOL, ['check', 'config', join(prometheusDir, 'prometheus.yml')]);
    expect(config.output).not.toContain('FAILED');
    expect(config.code).toBe(0);
  }, 600_000);

  it('about 30 alerts beside the SLO alerts, each with severity, summary, runbook, and a promtool test that fires and one that stays quiet', () => {
    const pack = rules.filter((r) => r.file.startsWith('alerts/'));
    expect(pack.length).toBeGreaterThanOrEqual(28);
    expect(pack.length).toBeLessThanOrEqual(40);
    for (const rule of rules) {
      expect(['critical', 'warning', 'info'], rule.alert).toContain(rule.labels.severity);
      expect(rule.annotations.summary, rule.alert).toMatch(/\{\{/);
      expect(rule.annotations.runbook_url, rule.alert).toBe(`docs/runbooks/${rule.alert}.md`);
    }
    for (const file of ruleFiles(prometheusDir)) {
      const tests = (parse(readFileSync(file.replace('.rules.yml', '.test.yml'), 'utf8')) as { tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }> }> }).tests;
      const cases = tests.flatMap((t) => t.alert_rule_test ?? []);
      for (const rule of rules.filter((r) => join(prometheusDir, r.file) === file)) {
        expect(cases.some((c) => c.alertname === rule.alert && (c.exp_alerts ?? []).length > 0), `${rule.alert} fires in a test`).toBe(true);
        expect(cases.some((c) => c.alertname === rule.alert && (c.exp_alerts ?? []).length === 0), `${rule.alert} stays quiet in a test`).toBe(true);
      }
    }
  });

  it('every alert has its runbook: what it means, the first three things to check, how to silence', () => {
    const alerts = [...new Set(rules.map((r) => r.alert))];
    for (const alert of alerts) {
      const file = join(repoRoot, 'docs', 'runbooks', `${alert}.md`);
      expect(existsSync(file), file).toBe(true);
      const text = readFileSync(file, 'utf8');
      expect(text, alert).toContain('## What it means');
      expect(text, alert).toMatch(/## First three things to check\n1\. .+\n2\. .+\n3\. .+/);
      expect(text, alert).toContain('## How to silence');
      expect(text, alert).toContain(`amtool silence add alertname=${alert}`);
    }
    const orphans = readdirSync(join(repoRoot, 'docs', 'runbooks')).filter((f) => !alerts.includes(f.replace(/\.md$/, '')));
    expect(orphans).toEqual([]);
  });

  it('alert rules name only metrics Rampart, Prometheus or the named exporters export, or that the SLO rules record', () => {
    const known = new Set([...knownSeriesNames(), ...recordedNames()]);
    for (const rule of rules) for (const name of selectedNames(rule.expr)) expect(known, `${rule.alert}: ${name}`).toContain(name);
  });

  it('amtool accepts the shipped Alertmanager configuration, whose receivers read their keys from files', async () => {
    const file = join(repoRoot, 'deploy', 'alertmanager', 'alertmanager.yml');
    const result = await runTool(AMTOOL, ['check-config', file]);
    expect(result.output).toContain('SUCCESS');
    expect(result.code).toBe(0);
    const config = parse(readFileSync(file, 'utf8')) as { global: Record<string, string>; route: { routes: Array<{ matchers: string[]; receiver: string }> }; receivers: Array<Record<string, Array<Record<string, unknown>>>> };
    expect(config.route.routes.map((r) => [r.matchers[0], r.receiver])).toEqual([['severity="critical"', 'pagerduty'], ['severity="warning"', 'slack'], ['severity="info"', 'email']]);
    expect(config.global.slack_api_url_file).toBeDefined();
    expect(config.global.smtp_auth_password_file).toBeDefined();
    expect(config.receivers.find((r) => r.name as unknown === 'pagerduty')!.pagerduty_configs![0]!.routing_key_file).toBeDefined();
    // No inline key anywhere.
    expect(readFileSync(file, 'utf8')).not.toMatch(/routing_key:|service_key:|api_url:|auth_password:|hooks\.slack\.com/);
  });

  describe('dashboards', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'rampart-dash-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });
    const panels = dashboardSpecs(spec).flatMap((board) => board.items.flatMap((item) => ('row' in item ? [] : item.queries.map((q) => ({ board: board.uid, panel: item.title, expr: q.expr })))));
    // Grafana substitutes its variables before the query reaches Prometheus.
    const asPromql = (expr: string) => expr.replace(/\$job/g, '.*');

    it('cover the SLO overview, API (RED by route), jobs and infrastructure', () => {
      expect(dashboardSpecs(spec).map((d) => d.uid)).toEqual(['rampart-slo', 'rampart-api', 'rampart-jobs', 'rampart-infrastructure']);
      expect(panels.length).toBeGreaterThan(40);
      const committed = readdirSync(join(repoRoot, 'deploy', 'grafana', 'dashboards')).filter((f) => f.endsWith('.json'));
      expect(committed.sort()).toEqual(['rampart-api.json', 'rampart-infrastructure.json', 'rampart-jobs.json', 'rampart-slo.json']);
    });

    it('every panel query parses as PromQL (promtool, through a rule file made of them)', async () => {
      const file = join(dir, 'panels.rules.yml');
      await writeFile(file, stringify({ groups: [{ name: 'panels', rules: panels.map((p, i) => ({ record: `panel:query:${i}`, expr: asPromql(p.expr) })) }] }));
      const result = await runTool(PROMTOOL, ['check', 'rules', file]);
      expect(result.output).toContain(`SUCCESS: ${panels.length} rules found`);
    });

    it('every panel query names only catalogued metrics or SLO recording rules', () => {
      const known = new Set([...knownSeriesNames(), ...recordedNames()]);
      for (const p of panels) {
        const names = selectedNames(asPromql(p.expr));
        expect(names.length, `${p.board} / ${p.panel}`).toBeGreaterThan(0);
        for (const name of names) expect(known, `${p.board} / ${p.panel}: ${name}`).toContain(name);
      }
    });

    it('provisioning points Grafana at Prometheus and puts the boards in a Rampart folder', () => {
      const datasources = parse(readFileSync(join(repoRoot, 'deploy/grafana/provisioning/datasources/prometheus.yml'), 'utf8')) as { datasources: Array<{ type: string; uid: string }> };
      expect(datasources.datasources[0]).toMatchObject({ type: 'prometheus', uid: 'prometheus' });
      const providers = parse(readFileSync(join(repoRoot, 'deploy/grafana/provisioning/dashboards/rampart.yml'), 'utf8')) as { providers: Array<{ folder: string; type: string }> };
      expect(providers.providers[0]).toMatchObject({ folder: 'Rampart', type: 'file' });
    });
  });

  it('the README lists the metrics, alerts and dashboard panels as the sources define them (npm run observability:generate)', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    let expected = withSection(readme, 'metrics-catalogue', metricsCatalogueMarkdown());
    expected = withSection(expected, 'alert-list', alertListMarkdown(rules));
    expected = withSection(expected, 'dashboards', dashboardsMarkdown(spec));
    expect(readme).toBe(expected);
  });
});
