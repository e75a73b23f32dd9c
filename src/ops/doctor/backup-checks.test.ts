import { describe, expect, it } from 'vitest';
import { backupFindings, sampleValue, type BackupSettings } from './backup-checks.js';

// The exposition every Rampart process serves once backups run (the backup feature's gauges).
const now = new Date('2026-12-01T12:00:00Z');
const secondsAgo = (s: number) => now.getTime() / 1000 - s;
const exposition = (lastBackup?: number, lastDrill?: number) => [
  '# HELP backup_last_success_timestamp_seconds When the newest complete backup was taken (Unix time).',
  '# TYPE backup_last_success_timestamp_seconds gauge',
  ...(lastBackup === undefined ? [] : [`backup_last_success_timestamp_seconds ${lastBackup}`]),
  '# HELP backup_verify_last_success_timestamp_seconds When a restore drill last passed (Unix time).',
  '# TYPE backup_verify_last_success_timestamp_seconds gauge',
  ...(lastDrill === undefined ? [] : [`backup_verify_last_success_timestamp_seconds ${lastDrill}`]),
  'backup_failures_total{operation="backup"} 0',
].join('\n');
// The defaults of BACKUP_MAX_AGE_S (2 h) and BACKUP_VERIFY_MAX_AGE_S (48 h).
const SCHEDULED: BackupSettings = { production: true, notScheduled: undefined, maxAgeS: 7_200, verifyMaxAgeS: 172_800 };
const ids = (settings: BackupSettings, text: string) => backupFindings(settings, { reachable: true, text }, now).map((f) => `${f.severity} ${f.id}`);

describe('backups configured and recently verified', () => {
  it('reads an unlabelled gauge, and none when the metric has no sample', () => {
    expect(sampleValue(exposition(1764590400, 1.7e9), 'backup_last_success_timestamp_seconds')).toBe(1764590400);
    expect(sampleValue(exposition(undefined, 1.7e9), 'backup_last_success_timestamp_seconds')).toBeUndefined();
    expect(sampleValue('backup_last_success_timestamp_seconds_total 5', 'backup_last_success_timestamp_seconds')).toBeUndefined();
  });

  it('a backup an hour old and a drill a day old: nothing to say', () => {
    expect(ids(SCHEDULED, exposition(secondsAgo(3_600), secondsAgo(86_400)))).toEqual([]);
  });

  it('a backup older than BACKUP_MAX_AGE_S (2 h) is a warning, older than a day critical; a drill older than 48 h a warning', () => {
    expect(ids(SCHEDULED, exposition(secondsAgo(3 * 3_600), secondsAgo(60)))).toEqual(['warning backup-stale']);
    expect(ids(SCHEDULED, exposition(secondsAgo(25 * 3_600), secondsAgo(49 * 3_600)))).toEqual(['critical backup-stale', 'warning backup-not-verified']);
    expect(ids({ ...SCHEDULED, maxAgeS: 14_400 }, exposition(secondsAgo(3 * 3_600), secondsAgo(60)))).toEqual([]);
  });

  it('exported gauges without a sample: no backup has ever completed (critical), no drill has passed', () => {
    expect(ids(SCHEDULED, exposition())).toEqual(['critical backup-missing', 'warning backup-not-verified']);
  });

  it('not scheduled: one finding saying why, critical in production, whatever the metrics say', () => {
    const [finding, ...rest] = backupFindings({ ...SCHEDULED, notScheduled: 'BACKUP_SCHEDULE is off' }, { reachable: true, text: exposition(secondsAgo(60), secondsAgo(60)) }, now);
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({ id: 'backups-not-configured', severity: 'critical', message: 'no scheduled backups: BACKUP_SCHEDULE is off', docs: 'README.md#backups-and-recovery' });
    expect(backupFindings({ ...SCHEDULED, production: false, notScheduled: 'x' }, { reachable: false, url: 'u', because: 'b' }, now)[0]!.severity).toBe('warning');
  });
});
