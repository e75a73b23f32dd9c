import type { BackupLabel } from './backup-metadata.js';

/** GFS retention (BAK-2); every figure is configurable (BACKUP_KEEP_*). */
export interface RetentionPolicy {
  hourlyDays: number;
  dailyDays: number;
  weeklyWeeks: number;
  monthlyMonths: number;
  /** `manual` and `pre-deploy` backups. */
  manualDays: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { hourlyDays: 7, dailyDays: 30, weeklyWeeks: 12, monthlyMonths: 12, manualDays: 30 };

export interface RetainedBackup {
  id: string;
  createdAt: Date;
  label: BackupLabel;
  /** Passed its restore drill. */
  verified: boolean;
}

export type Tier = 'monthly' | 'weekly' | 'daily' | 'hourly' | 'manual' | 'pre-deploy' | 'newest-verified';

export interface RetentionPlan {
  /** Kept backups and the longest-lived tier that keeps each. */
  keep: Array<{ id: string; tier: Tier }>;
  /** Backups no tier keeps: oldest first. */
  remove: string[];
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * Which backups survive at `now`. A scheduled backup is kept when it is the newest of its
 * UTC hour within `hourlyDays`, of its day within `dailyDays`, of its ISO week within
 * `weeklyWeeks`, or of its month within `monthlyMonths`; manual and pre-deploy ones for
 * `manualDays`. The newest backup that passed its drill is always kept, so pruning can never
 * leave only backups nobody has restored.
 */
export function planRetention(backups: readonly RetainedBackup[], now: Date, policy: RetentionPolicy): RetentionPlan {
  const tiers = new Map<string, Tier>();
  const age = (b: RetainedBackup) => now.getTime() - b.createdAt.getTime();
  const scheduled = backups.filter((b) => b.label === 'scheduled').sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  // Longest-lived tier first, so each backup is reported under the tier that keeps it longest.
  const iso = new Map(scheduled.map((b) => [b.id, b.createdAt.toISOString()]));
  const grades: Array<{ tier: Tier; bucket: (b: RetainedBackup) => string; within: (b: RetainedBackup) => boolean }> = [
    { tier: 'monthly', bucket: (b) => iso.get(b.id)!.slice(0, 7), within: (b) => monthsBetween(b.createdAt, now) < policy.monthlyMonths },
    { tier: 'weekly', bucket: (b) => isoWeek(b.createdAt), within: (b) => age(b) < policy.weeklyWeeks * 7 * DAY },
    { tier: 'daily', bucket: (b) => iso.get(b.id)!.slice(0, 10), within: (b) => age(b) < policy.dailyDays * DAY },
    { tier: 'hourly', bucket: (b) => iso.get(b.id)!.slice(0, 13), within: (b) => age(b) < policy.hourlyDays * DAY },
  ];
  for (const grade of grades) {
    const seen = new Set<string>();
    for (const backup of scheduled) {
      const bucket = grade.bucket(backup);
      if (seen.has(bucket)) continue;
      seen.add(bucket); // the newest of its bucket stands for it, kept or not
      if (grade.within(backup) && !tiers.has(backup.id)) tiers.set(backup.id, grade.tier);
    }
  }
  for (const backup of backups) {
    if (backup.label !== 'scheduled' && age(backup) < policy.manualDays * DAY) tiers.set(backup.id, backup.label as Tier);
  }
  const newestVerified = [...backups].filter((b) => b.verified).sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())[0];
  if (newestVerified && !tiers.has(newestVerified.id)) tiers.set(newestVerified.id, 'newest-verified');
  const oldestFirst = [...backups].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  return {
    keep: oldestFirst.filter((b) => tiers.has(b.id)).map((b) => ({ id: b.id, tier: tiers.get(b.id)! })),
    remove: oldestFirst.filter((b) => !tiers.has(b.id)).map((b) => b.id),
  };
}

/** Calendar months from `from` to `to` (UTC): 0 within the same month. */
function monthsBetween(from: Date, to: Date): number {
  return (to.getUTCFullYear() - from.getUTCFullYear()) * 12 + (to.getUTCMonth() - from.getUTCMonth());
}

/** ISO 8601 week, `2025-W01`: weeks start on Monday; week 1 holds the year's first Thursday. */
function isoWeek(at: Date): string {
  const day = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday); // the Thursday of this week names its year
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((day.getTime() - yearStart) / DAY + 1) / 7);
  return `${day.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}
