import { afterEach, describe, expect, it } from 'vitest';
import { databaseTargets, freshDatabasePerTest } from '../../../test/support/databases.js';
import { migrateUp } from '../db/migrations.js';
import { startLeaderElection, type LeaderElection } from './leader-lease.js';
import { alignedTick, startScheduler, type Scheduler } from './scheduler.js';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('alignedTick', () => {
  it('rounds down to a multiple of the interval', () => {
    expect(alignedTick(12_345, 1_000)).toEqual(new Date(12_000));
    expect(alignedTick(12_000, 500)).toEqual(new Date(12_000));
  });
});

describe.each(databaseTargets())('scheduler on $name', (factory) => {
  const fresh = freshDatabasePerTest(factory);
  const stops: Array<() => Promise<void>> = [];

  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  });

  const instance = async (holderId: string, runs: Array<{ holderId: string; tick: number; token: bigint }>) => {
    const election: LeaderElection = await startLeaderElection({ db: fresh.handle.db, name: 'scheduler', holderId, leaseMs: 3_000, logger: quiet });
    const scheduler: Scheduler = startScheduler({
      db: fresh.handle.db,
      election,
      logger: quiet,
      jobs: [{ name: 'count', everyMs: 200, run: async ({ tick, fencingToken }) => void runs.push({ holderId, tick: tick.getTime(), token: fencingToken }) }],
    });
    stops.push(() => election.stop(), () => scheduler.stop());
    return { election, scheduler };
  };

  it('runs each aligned tick once, on the leader only, and records it in scheduled_runs', async () => {
    await migrateUp(fresh.handle);
    const runs: Array<{ holderId: string; tick: number; token: bigint }> = [];
    await instance('a', runs);
    await instance('b', runs);

    await sleep(1_300);

    expect(runs.length).toBeGreaterThanOrEqual(4);
    expect(new Set(runs.map((r) => r.holderId))).toEqual(new Set(['a']));
    expect(runs.every((r) => r.tick % 200 === 0 && r.token === 1n)).toBe(true);
    expect(new Set(runs.map((r) => r.tick)).size).toBe(runs.length);
    const rows = await fresh.handle.db.selectFrom('scheduled_runs').select(['tick', 'ran_by']).where('job', '=', 'count').execute();
    expect(rows.map((r) => r.tick.getTime()).sort()).toEqual(expect.arrayContaining(runs.map((r) => r.tick)));
  });

  it('after the leader stops, the next leader carries on without repeating a tick', async () => {
    await migrateUp(fresh.handle);
    const runs: Array<{ holderId: string; tick: number; token: bigint }> = [];
    const a = await instance('a', runs);
    await instance('b', runs);
    await sleep(700);

    await a.scheduler.stop();
    await a.election.stop();
    await sleep(1_700);

    const byB = runs.filter((r) => r.holderId === 'b');
    expect(runs.some((r) => r.holderId === 'a')).toBe(true);
    expect(byB.length).toBeGreaterThanOrEqual(2);
    expect(byB.every((r) => r.token === 2n)).toBe(true);
    expect(new Set(runs.map((r) => r.tick)).size).toBe(runs.length);
  });
});
