import { describe, expect, it } from 'vitest';
import { DEFAULT_RETENTION, planRetention, type RetainedBackup } from './retention.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * A year of the scheduler: a backup at :07 every hour, a manual one every Monday noon and a
 * pre-deploy one every 10 days, pruned after every backup, as the worker does. The clock is
 * simulated; the plan is the production code's.
 */
function simulateYear(options: { verifiedIds?: (b: RetainedBackup) => boolean } = {}) {
  const start = Date.UTC(2025, 0, 1, 0, 7);
  const end = Date.UTC(2026, 0, 1, 0, 7);
  let kept: RetainedBackup[] = [];
  let n = 0;
  for (let t = start; t <= end; t += HOUR) {
    const at = new Date(t);
    const add = (label: RetainedBackup['label']) => {
      const backup = { id: `b${String(n++).padStart(6, '0')}-${label}`, createdAt: new Date(t + (label === 'scheduled' ? 0 : 60_000)), label, verified: false };
      backup.verified = options.verifiedIds?.(backup) ?? false;
      kept.push(backup);
    };
    add('scheduled');
    if (at.getUTCDay() === 1 && at.getUTCHours() === 12) add('manual');
    if (at.getUTCHours() === 18 && Math.floor((t - start) / DAY) % 10 === 0) add('pre-deploy');
    const plan = planRetention(kept, new Date(t + 120_000), DEFAULT_RETENTION);
    const keep = new Set(plan.keep.map((k) => k.id));
    kept = kept.filter((b) => keep.has(b.id));
  }
  return { kept, now: new Date(end + 120_000) };
}

describe('GFS retention over a year of hourly backups (fake clock)', () => {
  const { kept, now } = simulateYear();
  const scheduled = kept.filter((b) => b.label === 'scheduled');
  const age = (b: RetainedBackup) => now.getTime() - b.createdAt.getTime();

  it('keeps every hourly backup of the last 7 days', () => {
    expect(scheduled.filter((b) => age(b) < 7 * DAY)).toHaveLength(7 * 24);
  });

  it('keeps exactly one per day (the day\'s last, 23:07) from 7 to 30 days back', () => {
    const daily = scheduled.filter((b) => age(b) >= 7 * DAY && age(b) < 30 * DAY);
    expect(daily.length).toBe(23);
    for (const b of daily) expect(b.createdAt.getUTCHours()).toBe(23);
    expect(new Set(daily.map((b) => b.createdAt.toISOString().slice(0, 10))).size).toBe(daily.length);
  });

  it('keeps one per ISO week (Sunday 23:07) up to 12 weeks, one per month (its last day) up to 12 months', () => {
    const weekly = scheduled.filter((b) => age(b) >= 30 * DAY && age(b) < 84 * DAY);
    for (const b of weekly) expect(b.createdAt.getUTCDay() === 0 || isLastDayOfMonth(b.createdAt)).toBe(true);
    const older = scheduled.filter((b) => age(b) >= 84 * DAY);
    for (const b of older) expect(isLastDayOfMonth(b.createdAt) && b.createdAt.getUTCHours() === 23).toBe(true);
    // Twelve months: January 2026 (the newest backup) and February … December 2025, those
    // still inside the weekly window counted there.
    expect(new Set(older.map((b) => b.createdAt.toISOString().slice(0, 7))).size).toBe(older.length);
    expect(older.map((b) => b.createdAt.toISOString().slice(0, 10))).toEqual(['2025-02-28', '2025-03-31', '2025-04-30', '2025-05-31', '2025-06-30', '2025-07-31', '2025-08-31', '2025-09-30']);
    // Sundays 30–84 days before 2026-01-01 (and the month-ends among them), nothing else.
    expect(weekly.map((b) => b.createdAt.toISOString().slice(0, 10))).toEqual(['2025-10-12', '2025-10-19', '2025-10-26', '2025-10-31', '2025-11-02', '2025-11-09', '2025-11-16', '2025-11-23', '2025-11-30']);
  });

  it('keeps manual and pre-deploy backups 30 days, none older', () => {
    for (const label of ['manual', 'pre-deploy'] as const) {
      const ones = kept.filter((b) => b.label === label);
      expect(ones.length).toBeGreaterThan(0);
      for (const b of ones) expect(age(b)).toBeLessThan(30 * DAY);
    }
    expect(kept.filter((b) => b.label === 'manual')).toHaveLength(4);
    expect(kept.filter((b) => b.label === 'pre-deploy')).toHaveLength(3);
  });

  it('never deletes the newest verified backup, however old', () => {
    // Only the backup of 2025-03-15 10:07 ever passed a drill.
    const { kept: withDrill } = simulateYear({ verifiedIds: (b) => b.createdAt.toISOString() === '2025-03-15T10:07:00.000Z' });
    expect(withDrill.find((b) => b.verified)?.createdAt.toISOString()).toBe('2025-03-15T10:07:00.000Z');
    const plan = planRetention(withDrill, new Date(Date.UTC(2026, 0, 1, 1)), DEFAULT_RETENTION);
    expect(plan.keep.find((k) => k.tier === 'newest-verified')).toBeDefined();
  });

  it('is configurable: 0 daily days and 0 weekly weeks keep only hourlies and month-ends', () => {
    const backups = [0, 1, 2, 10, 40].map((days, i) => ({ id: `x${i}`, createdAt: new Date(Date.UTC(2025, 5, 30, 23, 7) - days * DAY), label: 'scheduled' as const, verified: false }));
    const plan = planRetention(backups, new Date(Date.UTC(2025, 5, 30, 23, 30)), { ...DEFAULT_RETENTION, hourlyDays: 1, dailyDays: 0, weeklyWeeks: 0 });
    expect(plan.keep).toEqual([{ id: 'x4', tier: 'monthly' }, { id: 'x0', tier: 'monthly' }]);
    expect(plan.remove).toEqual(['x3', 'x2', 'x1']);
  });
});

function isLastDayOfMonth(at: Date): boolean {
  return new Date(at.getTime() + DAY).getUTCDate() === 1;
}
