import { bySeverity, scoreOf, type Finding, type Severity } from './finding.js';

export interface DoctorReport {
  checked_at: string;
  /** What was audited: the URL, the configuration, or both. */
  targets: { url?: string; config?: boolean };
  score: number;
  counts: Record<Severity, number>;
  /** The checks that ran. */
  checked: string[];
  findings: Finding[];
}

export function doctorReport(targets: DoctorReport['targets'], checked: string[], findings: readonly Finding[], now: Date): DoctorReport {
  const sorted = [...findings].sort(bySeverity);
  const counts = { critical: 0, warning: 0, info: 0 };
  for (const f of sorted) counts[f.severity] += 1;
  return { checked_at: now.toISOString(), targets, score: scoreOf(sorted), counts, checked, findings: sorted };
}

/** A table for a terminal: one row per finding, its fix and README link indented beneath. */
export function formatReport(report: DoctorReport): string {
  const audited = [report.targets.url, report.targets.config ? 'configuration' : undefined].filter(Boolean).join(' + ');
  const header = ['SEVERITY', 'CHECK', 'FINDING'];
  const rows = report.findings.map((f) => [f.severity.toUpperCase(), f.id, f.message]);
  const widths = [0, 1].map((i) => Math.max(header[i]!.length, ...rows.map((r) => r[i]!.length)));
  const indent = ' '.repeat(widths[0]! + widths[1]! + 4);
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c)).join('  ');
  const lines = [`audited: ${audited}`, ''];
  if (report.findings.length === 0) lines.push('no findings');
  else {
    lines.push(line(header));
    report.findings.forEach((f, i) => lines.push(line(rows[i]!), `${indent}fix: ${f.fix}`, `${indent}see: ${f.docs}`));
  }
  lines.push('', `checked: ${report.checked.join(', ')}`);
  lines.push(`score ${report.score}/100: ${report.counts.critical} critical, ${report.counts.warning} warning, ${report.counts.info} info${report.counts.critical > 0 ? ' (not ready to go live)' : ''}`);
  return lines.join('\n');
}
