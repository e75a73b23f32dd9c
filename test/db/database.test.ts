import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/platform/db/database.js';
import { migrateUp } from '../../src/platform/db/migrations.js';
import { pgliteTemplateDir } from '../../src/platform/db/template-paths.js';
import { createPGliteTarget, databaseTargets, freshDatabasePerTest, testDatabaseOptions } from '../support/databases.js';
import { freePort } from '../support/private-postgres.js';

describe.each(databaseTargets())('database on $name', (factory) => {
  const fresh = freshDatabasePerTest(factory);

  it('check() answers ok and names the engine', async () => {
    expect(await fresh.handle.check(2_000)).toEqual({ ok: true, details: `ok:${factory.name}` });
    expect(fresh.handle.kind).toBe(factory.name);
  });

  it('typed queries on worker_heartbeats bind parameters and fill defaults', async () => {
    const { db } = fresh.handle;
    await migrateUp(fresh.handle);

    await db.insertInto('worker_heartbeats').values({ worker_id: "w-1'; drop table worker_heartbeats; --", hostname: 'box', pid: 41 }).execute();
    await db.insertInto('worker_heartbeats').values({ worker_id: 'w-2', hostname: 'box', pid: 42 }).execute();
    const moved = await db
      .updateTable('worker_heartbeats')
      .set({ last_seen_at: new Date('2030-01-01T00:00:00Z') })
      .where('worker_id', '=', 'w-2')
      .executeTakeFirstOrThrow();
    const row = await db.selectFrom('worker_heartbeats').selectAll().where('pid', '=', 42).executeTakeFirstOrThrow();

    expect(moved.numUpdatedRows).toBe(1n);
    expect(row).toMatchObject({ worker_id: 'w-2', hostname: 'box', pid: 42, last_seen_at: new Date('2030-01-01T00:00:00Z') });
    expect(row.started_at).toBeInstanceOf(Date);
    expect(await db.selectFrom('worker_heartbeats').select('worker_id').orderBy('pid').execute()).toEqual([
      { worker_id: "w-1'; drop table worker_heartbeats; --" },
      { worker_id: 'w-2' },
    ]);
  });

  it('a query issued while a transaction is open neither joins it nor is lost when it rolls back', async () => {
    const { db } = fresh.handle;
    await migrateUp(fresh.handle);
    let outsideInsert: Promise<unknown> | undefined;

    const transaction = db.transaction().execute(async (trx) => {
      await trx.insertInto('worker_heartbeats').values({ worker_id: 'rolled-back', hostname: 'box', pid: 1 }).execute();
      outsideInsert = db.insertInto('worker_heartbeats').values({ worker_id: 'kept', hostname: 'box', pid: 2 }).execute();
      // Give a wrongly shared connection time to run the outside insert inside this transaction.
      await new Promise((resolve) => setTimeout(resolve, 50));
      throw new Error('roll back');
    });

    await expect(transaction).rejects.toThrow('roll back');
    await outsideInsert;
    expect(await db.selectFrom('worker_heartbeats').select('worker_id').execute()).toEqual([{ worker_id: 'kept' }]);
  });

  it('pool figures show an idle connection after a query', async () => {
    await sql`select 1`.execute(fresh.handle.db);

    const stats = fresh.handle.poolStats();
    expect(stats.total).toBeGreaterThanOrEqual(1);
    expect(stats.idle).toBe(stats.total);
    expect(stats.waiting).toBe(0);
  });

  it('close() can be called twice', async () => {
    await fresh.handle.close();
    await expect(fresh.handle.close()).resolves.toBeUndefined();
  });
});

describe('database on an unreachable PostgreSQL', () => {
  it('opens without connecting, and check() fails within the connect timeout without leaking the URL', async () => {
    const port = await freePort();
    const url = `postgres://postgres:sup3rsecret@127.0.0.1:${port}/x`;
    const handle = await openDatabase({ url, dataDir: os.tmpdir(), poolMax: 2, idleTimeoutMs: 1_000, connectTimeoutMs: 1_000 });
    try {
      const startedAt = Date.now();
      const result = await handle.check(5_000);

      expect(Date.now() - startedAt).toBeLessThan(1_000 + 500);
      expect(result.ok).toBe(false);
      expect(result.details).toMatch(/^error: /);
      expect(result.details).not.toContain('sup3rsecret');
      expect(result.details).not.toContain(String(port));
      const migrationError: Error = await migrateUp(handle).then(
        () => expect.fail('migrateUp should fail'),
        (error: Error) => error,
      );
      expect(migrationError.message).toMatch(/^migrations failed: /);
      expect(migrationError.message).not.toContain('sup3rsecret');
    } finally {
      await handle.close();
    }
  });
});

describe('database on PGlite', () => {
  it('creates <dataDir>/pglite and keeps its data there across reopening', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'rampart-test-'));
    const options = { dataDir: path.join(root, 'not', 'yet', 'there'), poolMax: 1, idleTimeoutMs: 1_000, connectTimeoutMs: 1_000 };
    try {
      const first = await openDatabase(options);
      await migrateUp(first);
      await first.db.insertInto('worker_heartbeats').values({ worker_id: 'w', hostname: 'box', pid: 7 }).execute();
      await first.close();

      const second = await openDatabase(options);
      const rows = await second.db.selectFrom('worker_heartbeats').select('pid').execute();
      await second.close();

      expect(rows).toEqual([{ pid: 7 }]);
      expect(existsSync(path.join(options.dataDir, 'pglite', 'PG_VERSION'))).toBe(true);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('starts with small shared buffers, the cluster copied from the template file for file', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'rampart-test-'));
    try {
      const handle = await openDatabase({ dataDir: root, poolMax: 1, idleTimeoutMs: 1_000, connectTimeoutMs: 1_000 });
      const { rows } = await sql<{ buffers: string }>`select current_setting('shared_buffers') as buffers`.execute(handle.db);
      await handle.close();

      expect(rows).toEqual([{ buffers: '16MB' }]);
      const template = pgliteTemplateDir();
      const listing = async (dir: string) => (await readdir(dir, { recursive: true })).sort();
      // The copy is the template's tree (PGlite may add files of its own once it has run).
      expect(await listing(path.join(root, 'pglite'))).toEqual(expect.arrayContaining(await listing(template)));
      expect(await readFile(path.join(root, 'pglite', 'PG_VERSION'), 'utf8')).toBe(await readFile(path.join(template, 'PG_VERSION'), 'utf8'));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('check() gives up after its timeout while a transaction holds the single connection', async () => {
    const target = await createPGliteTarget();
    const handle = await openDatabase(testDatabaseOptions(target));
    let finish = () => {};
    try {
      const transaction = handle.db.transaction().execute(() => new Promise<void>((resolve) => (finish = resolve)));
      await new Promise((resolve) => setTimeout(resolve, 20));

      expect(handle.poolStats()).toEqual({ total: 1, idle: 0, waiting: 0 });
      expect(await handle.check(200)).toEqual({ ok: false, details: 'error: timed out after 200ms' });
      finish();
      await transaction;
      expect(await handle.check(2_000)).toEqual({ ok: true, details: 'ok:pglite' });
    } finally {
      finish();
      await handle.close();
      await target.cleanup();
    }
  });
});
