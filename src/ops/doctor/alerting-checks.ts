import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { DOCS, type Finding } from './finding.js';

// The shipped files are examples whose addresses all live under example.com.
const PLACEHOLDER = /(^|[.@/])example\.(com|org|net)\b/;

async function readYaml(file: string): Promise<{ found: false } | { found: true; value: unknown } | { found: true; invalid: string }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { found: false };
    throw error;
  }
  try {
    return { found: true, value: parse(text) as unknown };
  } catch (error) {
    return { found: true, invalid: (error as Error).message.split('\n')[0]! };
  }
}

/** Every string in a parsed YAML document with its path (`receivers.2.email_configs.0.to`). */
function strings(value: unknown, path = ''): Array<{ path: string; value: string }> {
  if (typeof value === 'string') return [{ path, value }];
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, path ? `${path}.${i}` : String(i)));
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => strings(v, path ? `${path}.${k}` : k));
  return [];
}

/**
 * Alerting configured: a Prometheus that loads the alert rules and knows an Alertmanager, and
 * an Alertmanager whose receivers are yours, not the shipped examples (deploy/, README
 * "Observability").
 */
export async function alertingFindings(deployDir: string): Promise<Finding[]> {
  const prometheusFile = join(deployDir, 'prometheus', 'prometheus.yml');
  const alertmanagerFile = join(deployDir, 'alertmanager', 'alertmanager.yml');
  const [prometheus, alertmanager] = await Promise.all([readYaml(prometheusFile), readYaml(alertmanagerFile)]);
  const missing = [prometheus.found ? undefined : prometheusFile, alertmanager.found ? undefined : alertmanagerFile].filter((f) => f !== undefined);
  if (missing.length > 0) {
    return [{ id: 'alerting-not-configured', severity: 'warning', message: `no alerting configuration: ${missing.join(' and ')} not found`, fix: 'deploy Prometheus and Alertmanager with the shipped deploy/prometheus and deploy/alertmanager (or pass --deploy-dir)', docs: DOCS.observability }];
  }
  const findings: Finding[] = [];
  for (const [file, document] of [[prometheusFile, prometheus], [alertmanagerFile, alertmanager]] as const) {
    if ('invalid' in document) findings.push({ id: 'alerting-config-invalid', severity: 'warning', message: `${file} is not valid YAML (${document.invalid})`, fix: 'check it with promtool check config / amtool check-config', docs: DOCS.observability });
  }
  if (findings.length > 0) return findings;

  const prom = (prometheus as { value: unknown }).value as { rule_files?: unknown; alerting?: { alertmanagers?: unknown } } | null;
  const ruleFiles = Array.isArray(prom?.rule_files) ? prom.rule_files : [];
  const alertmanagers = Array.isArray(prom?.alerting?.alertmanagers) ? prom.alerting.alertmanagers : [];
  if (ruleFiles.length === 0 || alertmanagers.length === 0) {
    findings.push({ id: 'alerting-incomplete', severity: 'warning', message: `${prometheusFile} ${ruleFiles.length === 0 ? 'loads no rule files' : 'sends alerts to no Alertmanager'}: nothing would page`, fix: 'keep rule_files (slo/, alerts/) and alerting.alertmanagers from the shipped prometheus.yml', docs: DOCS.alerts });
  }
  for (const [file, document, what] of [[alertmanagerFile, alertmanager, 'sends alerts to'], [prometheusFile, prometheus, 'probes']] as const) {
    const placeholders = strings((document as { value: unknown }).value).filter((s) => PLACEHOLDER.test(s.value));
    if (placeholders.length === 0) continue;
    findings.push({ id: 'alerting-placeholders', severity: 'warning', message: `${file} still ${what} the shipped example addresses (${placeholders.slice(0, 3).map((p) => p.path).join(', ')}${placeholders.length > 3 ? ', …' : ''})`, fix: 'put in your own receivers (SMTP host, mail addresses, Slack channel, PagerDuty key) and probe targets', docs: DOCS.alerts });
  }
  return findings;
}
