import { CronExpressionParser } from 'cron-parser';

/** Parses a cron expression (5 fields, or 6 with seconds; UTC) or throws naming it. */
export function parseSchedule(expression: string): (now: Date) => Date {
  // Parse once to reject a bad expression at start, not at the first tick.
  CronExpressionParser.parse(expression, { tz: 'UTC' });
  return (now) => latestTick(expression, now);
}

/** The most recent tick of `expression` at or before `now`. */
function latestTick(expression: string, now: Date): Date {
  // prev() is strictly before currentDate; a tick exactly at `now` counts as due.
  const interval = CronExpressionParser.parse(expression, { tz: 'UTC', currentDate: new Date(now.getTime() + 1) });
  return interval.prev().toDate();
}
