import { sql } from 'kysely';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { databaseTargets, freshDatabasePerTest } from '../../../test/support/databases.js';
import { migrateUp } from '../db/migrations.js';
import { acquireOrRenewLease, startLeaderElection, type LeaderElection, type LeaderElectionOptions } from './leader-lease.js';
import { claimRun } from './scheduler.js';

const quiet = { info: () => {}, warn: () => {} };

describe.each(databaseTargets())('leader lease on $name', (factory) => {
  const fresh = freshDatabasePerTest(factory);
  const running: LeaderElection[] = [];

  afterEach(async () => {
    await Promise.all(running.splice(0).map((election) => election.stop().catch(() => undefined)));
  });

  const elect = async (holderId: string, options: Partial<LeaderElectionOptions> = {}) => {
    const election = await startLeaderElection({ db: fresh.handle.db, name: 'scheduler', holderId, leaseMs: 3_000, logger: quiet, ...options });
    running.push(election);
    return election;
  };

  it('of two instances on one database exactly one leads', async () => {
    await migrateUp(fresh.handle);
    const a = await elect('a');
    const b = await elect('b');

    expect([a.isLeader(), b.isLeader()]).toEqual([true, false]);
    expect(a.fencingToken()).toBe(1n);
    expect(b.fencingToken()).toBeUndefined();
  });

  it('a renewal by the holder keeps its token while others are refused', async () => {
    await migrateUp(fresh.handle);
    const { db } = fresh.handle;

    expect(await acquireOrRenewLease(db, 'x', 'a', 5_000)).toBe(1n);
    expect(await acquireOrRenewLease(db, 'x', 'b', 5_000)).toBeUndefined();
    expect(await acquireOrRenewLease(db, 'x', 'a', 5_000)).toBe(1n);
  });

  it('a stopped leader hands over at once, with a higher fencing token', async () => {
    await migrateUp(fresh.handle);
    const a = await elect('a', { leaseMs: 60_000 });
    const changes: Array<[boolean, bigint | undefined]> = [];
    const b = await elect('b', { leaseMs: 600, onChange: (leader, token) => changes.push([leader, token]) });

    await a.stop();

    // Well within the 60 s lease `a` held: the release, not the expiry, let `b` in.
    await vi.waitFor(() => expect(b.isLeader()).toBe(true), { timeout: 2_000, interval: 20 });
    expect(b.fencingToken()).toBe(2n);
    expect(changes).toEqual([[true, 2n]]);
  });

  it('an expired lease is taken over with a higher fencing token', async () => {
    await migrateUp(fresh.handle);
    const { db } = fresh.handle;
    // A holder that crashed: its lease runs out in 400 ms and nobody releases it.
    await db
      .insertInto('leader_leases')
      .values({ name: 'scheduler', holder: 'crashed', fencing_token: '7', expires_at: sql<Date>`now() + interval '400 milliseconds'` })
      .execute();
    const b = await elect('b', { leaseMs: 300 });

    expect(b.isLeader()).toBe(false);
    await vi.waitFor(() => expect(b.isLeader()).toBe(true), { timeout: 2_000, interval: 20 });
    expect(b.fencingToken()).toBe(8n);
  });

  it("a stale leader's claim of a tick is refused, and a tick is claimed only once", async () => {
    await migrateUp(fresh.handle);
    const { db } = fresh.handle;
    const stale = { name: 'x', holderId: 'a', fencingToken: (await acquireOrRenewLease(db, 'x', 'a', 200))! };
    await new Promise((resolve) => setTimeout(resolve, 300));
    const current = { name: 'x', holderId: 'b', fencingToken: (await acquireOrRenewLease(db, 'x', 'b', 5_000))! };
    const tick = new Date(Math.floor(Date.now() / 1_000) * 1_000);

    expect(current.fencingToken).toBe(stale.fencingToken + 1n);
    expect(await claimRun(db, stale, 'job', tick)).toBe(false);
    expect(await claimRun(db, current, 'job', tick)).toBe(true);
    expect(await claimRun(db, current, 'job', tick)).toBe(false);
    const rows = await db.selectFrom('scheduled_runs').select(['job', 'tick', 'fencing_token', 'ran_by']).execute();
    expect(rows.map((r) => ({ ...r, fencing_token: BigInt(r.fencing_token) }))).toEqual([{ job: 'job', tick, fencing_token: current.fencingToken, ran_by: 'b' }]);
  });

  it('a leader that cannot reach the database steps down when its lease would have expired', async () => {
    await migrateUp(fresh.handle);
    const a = await elect('a', { leaseMs: 600 });
    expect(a.isLeader()).toBe(true);

    await fresh.handle.close();

    await vi.waitFor(() => expect(a.isLeader()).toBe(false), { timeout: 1_000, interval: 20 });
    expect(a.fencingToken()).toBeUndefined();
  });
});
