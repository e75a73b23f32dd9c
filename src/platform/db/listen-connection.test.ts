import { sql } from 'kysely';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { databaseTargets, freshDatabasePerTest } from '../../../test/support/databases.js';

const postgres = databaseTargets().find((target) => target.name === 'postgres')!;

describe('a LISTEN connection on PostgreSQL', () => {
  const fresh = freshDatabasePerTest(postgres);
  const crashes = vi.fn();
  beforeEach(() => {
    crashes.mockClear();
    process.prependListener('uncaughtException', crashes);
  });
  afterEach(() => {
    process.removeListener('uncaughtException', crashes);
  });

  it('handed back to the pool and then terminated there (a dropped database) is not released twice', async () => {
    const stop = await fresh.handle.listen('rampart_listen_test', () => {});
    await stop();
    expect(fresh.handle.poolStats()).toMatchObject({ idle: 1 });

    await terminateConnectionsTo(fresh.target.url!);

    // The pool drops the terminated idle connection; the listener it once served must not
    // hand it back again (pg-pool throws "Release called on client which has already been released").
    await vi.waitFor(() => expect(fresh.handle.poolStats()).toMatchObject({ total: 0 }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(crashes).not.toHaveBeenCalled();
  });

  it('lost while listening is replaced, and the subscriber is told to look for what it missed', async () => {
    const notified: string[] = [];
    const stop = await fresh.handle.listen('rampart_listen_test', (payload) => notified.push(payload));
    try {
      await terminateConnectionsTo(fresh.target.url!);
      await vi.waitFor(() => expect(notified).toEqual(['']), { timeout: 5_000 });

      await sql`select pg_notify('rampart_listen_test', 'after')`.execute(fresh.handle.db);
      await vi.waitFor(() => expect(notified).toEqual(['', 'after']));
    } finally {
      await stop();
    }
    expect(crashes).not.toHaveBeenCalled();
  });
});

async function terminateConnectionsTo(url: string): Promise<void> {
  const database = new URL(url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [database]);
  } finally {
    await admin.end();
  }
}
