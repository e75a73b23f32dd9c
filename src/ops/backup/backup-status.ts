import { listBackups } from './backup-catalog.js';
import type { BackupStore } from './backup-store.js';

export interface BackupStatus {
  /** The newest complete backup. */
  lastBackup: { at: Date; bytes: number; durationMs: number } | undefined;
  /** The newest restore drill that passed. */
  lastDrill: Date | undefined;
}

/**
 * What `/readiness` and the metrics report, read from the store itself, so every process
 * (web or worker, restarted or not) tells the same story. Listing S3 on every probe would cost
 * requests: the answer is kept for `ttlMs`, and dropped at once when this process changes it.
 */
export function backupStatusReader(store: BackupStore, ttlMs = 60_000): { read(): Promise<BackupStatus>; invalidate(): void } {
  let cached: { at: number; status: Promise<BackupStatus> } | undefined;
  const load = async (): Promise<BackupStatus> => {
    const entries = await listBackups(store);
    const last = entries.at(-1)?.metadata;
    const drills = entries.flatMap((e) => (e.drill?.ok ? [new Date(e.drill.at)] : [])).sort((a, b) => b.getTime() - a.getTime());
    return {
      lastBackup: last ? { at: new Date(last.createdAt), bytes: last.sizes.encryptedBytes, durationMs: last.durationMs } : undefined,
      lastDrill: drills[0],
    };
  };
  return {
    read() {
      if (!cached || Date.now() - cached.at > ttlMs) {
        const status = load();
        cached = { at: Date.now(), status };
        status.catch(() => void (cached = undefined));
      }
      return cached.status;
    },
    invalidate: () => void (cached = undefined),
  };
}

/** The readiness entry's words: ages, and what is overdue. */
export function describeStatus(status: BackupStatus, now: Date, limits: { backupMaxAgeS: number; drillMaxAgeS: number; watchingSince: Date }): { ok: boolean; details: string } {
  const age = (at: Date | undefined) => (at ? Math.round((now.getTime() - at.getTime()) / 1000) : undefined);
  // Nothing yet is overdue only once the schedule has had its chance (a new deployment is not).
  const watched = age(limits.watchingSince)!;
  const backupAge = age(status.lastBackup?.at);
  const drillAge = age(status.lastDrill);
  const problems: string[] = [];
  if ((backupAge ?? watched) > limits.backupMaxAgeS) problems.push(backupAge === undefined ? `no backup in the ${watched} s since start` : `last backup overdue (older than ${limits.backupMaxAgeS} s)`);
  if ((drillAge ?? watched) > limits.drillMaxAgeS) problems.push(drillAge === undefined ? `no restore drill passed in the ${watched} s since start` : `last passed drill overdue (older than ${limits.drillMaxAgeS} s)`);
  const facts = `last_backup_age_s=${backupAge ?? 'none'} last_drill_age_s=${drillAge ?? 'none'}`;
  return { ok: problems.length === 0, details: problems.length === 0 ? `ok: ${facts}` : `error: ${problems.join('; ')}; ${facts}` };
}
