import { DOCS, type Finding } from './finding.js';

/** What the backup check could learn from the process's metrics port. */
export type BackupMetrics =
  | { reachable: true; text: string }
  | { reachable: false; url: string; because: string };

const HOUR_S = 3_600;
/** BAK-4: the alert fires when the last success is older than 2 h; a day without one is an outage. */
const BACKUP_CRITICAL_AGE_S = 24 * HOUR_S;

/** The value of an unlabelled sample (`name 123`), or undefined when the metric has none. */
export function sampleValue(exposition: string, name: string): number | undefined {
  const line = exposition.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{}`));
  if (line === undefined) return undefined;
  const value = Number(line.slice(line.lastIndexOf(' ') + 1));
  return Number.isFinite(value) ? value : undefined;
}

function seconds(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = Number(env[name]);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

/**
 * Backups configured and recently verified. The settings say whether backups are meant to
 * run (BACKUP_AGE_RECIPIENTS, BACKUP_DESTINATION); the `backup_*` gauges every Rampart process
 * exports say when the last backup and the last restore drill succeeded.
 */
export function backupFindings(env: NodeJS.ProcessEnv, metrics: BackupMetrics, now: Date): Finding[] {
  const configured = Boolean(env.BACKUP_AGE_RECIPIENTS?.trim() || env.BACKUP_DESTINATION?.trim());
  const exported = metrics.reachable && /^# TYPE backup_last_success_timestamp_seconds /m.test(metrics.text);
  if (!configured && !exported) {
    return [{
      id: 'backups-not-configured',
      severity: 'warning',
      message: `no backups are configured: no BACKUP_* setting${metrics.reachable ? ' and no backup_* metrics' : ''}`,
      fix: 'set BACKUP_DESTINATION and BACKUP_AGE_RECIPIENTS and let the worker run `rampart backup` and its restore drill (README: Backups and recovery)',
      docs: DOCS.operations,
    }];
  }
  if (!metrics.reachable) {
    return [{ id: 'backup-recency-unchecked', severity: 'info', message: `when the last backup and restore drill succeeded was not checked: ${metrics.url} did not answer (${metrics.because})`, fix: 'run doctor where METRICS_PORT is reachable, or pass --metrics-url', docs: DOCS.doctor }];
  }
  const findings: Finding[] = [];
  const nowS = now.getTime() / 1000;
  const maxAge = seconds(env, 'BACKUP_MAX_AGE_S', 2 * HOUR_S);
  const last = sampleValue(metrics.text, 'backup_last_success_timestamp_seconds');
  if (last === undefined || last <= 0) {
    findings.push({ id: 'backup-missing', severity: 'critical', message: 'no backup has completed yet', fix: 'run `rampart backup` now and check the worker\'s backup schedule (BACKUP_SCHEDULE)', docs: DOCS.operations });
  } else if (nowS - last > maxAge) {
    const hours = Math.floor((nowS - last) / HOUR_S);
    findings.push({ id: 'backup-stale', severity: nowS - last > BACKUP_CRITICAL_AGE_S ? 'critical' : 'warning', message: `the last successful backup is ${hours} h old (limit ${Math.round(maxAge / HOUR_S)} h)`, fix: 'see `rampart backup list` and the worker\'s log for the failing run (alerts BackupFailed, BackupTooOld)', docs: DOCS.operations });
  }
  const drill = sampleValue(metrics.text, 'backup_verify_last_success_timestamp_seconds');
  const drillMaxAge = seconds(env, 'BACKUP_VERIFY_MAX_AGE_S', 48 * HOUR_S);
  if (drill === undefined || drill <= 0 || nowS - drill > drillMaxAge) {
    findings.push({ id: 'backup-not-verified', severity: 'warning', message: drill === undefined || drill <= 0 ? 'no restore drill has passed: nobody knows the backups restore' : `the last passed restore drill is ${Math.floor((nowS - drill) / HOUR_S)} h old`, fix: 'run `rampart backup verify latest` and keep BACKUP_VERIFY_SCHEDULE on', docs: DOCS.operations });
  }
  return findings;
}
