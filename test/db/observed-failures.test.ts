import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { databaseTargets, freshDatabasePerTest } from '../support/databases.js';
import { queryDurationObserver } from '../../src/wiring/platform-metrics.js';
import { createMetrics } from '../../src/platform/metrics/registry.js';

// A statement that fails (a unique violation under concurrent sign-ups, say) must reach the
// caller as the database's own error, timed like any other: the metrics observer once passed
// the error on to prom-client as labels, and the request answered 500 instead of 409.
describe.each(databaseTargets())('a failing statement, observed ($name)', (factory) => {
  const metrics = createMetrics();
  const fresh = freshDatabasePerTest(factory, { observeQuery: queryDurationObserver(metrics) });

  it('rejects with the database error and is counted in db_query_duration_seconds', async () => {
    const { db } = fresh.handle;
    await sql`create table observed_unique (id int primary key)`.execute(db);
    await sql`insert into observed_unique values (1)`.execute(db);
    const failure = await sql`insert into observed_unique values (1)`.execute(db).then(() => undefined, (error: unknown) => error);
    expect(String(failure)).toMatch(/duplicate key|unique/i);
    expect(String(failure)).not.toMatch(/label/);
    expect(await metrics.registry.getSingleMetricAsString('db_query_duration_seconds')).toMatch(/db_query_duration_seconds_count\{operation="insert"\} [2-9]/);
  });
});
