import { DOCS, type Finding } from './finding.js';

/** What the backup check could learn from the process's metrics port. */
export type BackupMetrics =
  | { reachable: true; text: string }
  | { reachable: false; url: string; because: string };

export interface BackupSettings {
  production: boolean;
  /** Why the worker takes no backups (the backup feature's own verdict, or BACKUP_SCHEDULE=off); undefined when it does. */
  notScheduled: string | undefined;
  /** BACKUP_MAX_AGE_S and BACKUP_VERIFY_MAX_AGE_S: the ages readiness also holds them to. */
  maxAgeS: number;
  verifyMaxAgeS: number;
}

const HOUR_S = 3_600;
/** BAK-4 alerts after 2 h without a backup (BACKUP_MAX_AGE_S); a day without one is an outage. */
const BACKUP_CRITICAL_AGE_S = 24 * HOUR_S;

/** The value of an unlabelled sample (`name 123`), or undefined when the metric has none. */
export function sampleValue(exposition: string, name: string): number | undefined {
  const line = exposition.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{}`));
  if (line === undefined) return undefined;
  const value = Number(line.slice(line.lastIndexOf(' ') + 1));
  return Number.isFinite(value) ? value : undefined;
}

/**
 * Backups configured and recently verified: the settings say whether the worker takes them;
 * the `backup_*` gauges every Rampart process exports (read from the backup store itself) say
 * when the last backup and the last passed restore drill were.
 */
export function backupFindings(settings: BackupSettings, metrics: BackupMetrics, now: Date): Finding[] {
  if (settings.notScheduled !== undefined) {
    return [{
      id: 'backups-not-configured',
      severity: settings.production ? 'critical' : 'warning',
      message: `no scheduled backups: ${settings.notScheduled}`,
      fix: 'set DATABASE_URL, BACKUP_DESTINATION and BACKUP_RECIPIENTS, and run a worker (README: Backups and recovery)',
      docs: DOCS.backups,
    }];
  }
  if (!metrics.reachable) {
    return [{ id: 'backup-recency-unchecked', severity: 'info', message: `when the last backup and restore drill succeeded was not checked: ${metrics.url} did not answer (${metrics.because})`, fix: 'run doctor where METRICS_PORT is reachable, or pass --metrics-url', docs: DOCS.doctor }];
  }
  const findings: Finding[] = [];
  const nowS = now.getTime() / 1000;
  const last = sampleValue(metrics.text, 'backup_last_success_timestamp_seconds');
  if (last === undefined || last <= 0) {
    findings.push({ id: 'backup-missing', severity: 'critical', message: 'no backup has completed yet', fix: 'run `rampart backup` now, and check that a worker runs (BACKUP_SCHEDULE)', docs: DOCS.backups });
  } else if (nowS - last > settings.maxAgeS) {
    const hours = Math.floor((nowS - last) / HOUR_S);
    findings.push({ id: 'backup-stale', severity: nowS - last > BACKUP_CRITICAL_AGE_S ? 'critical' : 'warning', message: `the last successful backup is ${hours} h old (BACKUP_MAX_AGE_S: ${settings.maxAgeS} s)`, fix: 'see `rampart backup list` and the worker\'s log for the failing run (alerts BackupFailed, BackupTooOld)', docs: DOCS.backups });
  }
  const drill = sampleValue(metrics.text, 'backup_verify_last_success_timestamp_seconds');
  if (drill === undefined || drill <= 0 || nowS - drill > settings.verifyMaxAgeS) {
    findings.push({ id: 'backup-not-verified', severity: 'warning', message: drill === undefined || drill <= 0 ? 'no restore drill has passed: nobody knows the backups restore' : `the last passed restore drill is ${Math.floor((nowS - drill) / HOUR_S)} h old (BACKUP_VERIFY_MAX_AGE_S: ${settings.verifyMaxAgeS} s)`, fix: 'run `rampart backup verify latest` and keep BACKUP_VERIFY_SCHEDULE on', docs: DOCS.backups });
  }
  return findings;
}
