import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../src/platform/db/database.js';
import { migrateDown, migrateUp, migrationStatus } from '../../src/platform/db/migrations.js';
import { databaseTargets, freshDatabasePerTest } from '../support/databases.js';

describe.each(databaseTargets())('migrations on $name', (factory) => {
  const fresh = freshDatabasePerTest(factory);
  const fixtures = migrationFixtures();

  it('up applies 0001_platform and status reports it applied with a time', async () => {
    const run = await migrateUp(fresh.handle);

    expect(run.applied).toContain('0001_platform');
    expect(run.reverted).toEqual([]);
    const status = await migrationStatus(fresh.handle);
    expect(status.every((m) => m.applied && m.appliedAt instanceof Date)).toBe(true);
    expect(status.map((m) => m.name)).toContain('0001_platform');
    expect(await tableNames(fresh.handle)).toContain('worker_heartbeats');
    const { rows: indexes } = await sql<{ indexdef: string }>`
      select indexdef from pg_indexes where tablename = 'worker_heartbeats'`.execute(fresh.handle.db);
    expect(indexes.map((i) => i.indexdef)).toContainEqual(expect.stringMatching(/\(last_seen_at\)$/));
  });

  it('status lists every migration as pending before the first up', async () => {
    const status = await migrationStatus(fresh.handle);

    expect(status).toContainEqual({ name: '0001_platform', applied: false });
    expect(status.some((m) => m.applied)).toBe(false);
  });

  it('running up a second time applies nothing', async () => {
    await migrateUp(fresh.handle);

    expect(await migrateUp(fresh.handle)).toEqual({ applied: [], reverted: [] });
  });

  it('down reverts the most recent migration, status shows it pending, and up applies it again', async () => {
    const { applied } = await migrateUp(fresh.handle);
    const latest = applied.at(-1);

    expect(await migrateDown(fresh.handle)).toEqual({ applied: [], reverted: [latest] });
    expect(await migrationStatus(fresh.handle)).toContainEqual({ name: latest, applied: false });
    expect(await migrateUp(fresh.handle)).toEqual({ applied: [latest], reverted: [] });
  });

  it("every migration's down step undoes it, back to an empty schema", async () => {
    const { applied } = await migrateUp(fresh.handle);

    for (const name of [...applied].reverse()) {
      expect(await migrateDown(fresh.handle)).toEqual({ applied: [], reverted: [name] });
    }
    expect(await tableNames(fresh.handle)).toEqual([]);
    expect(await migrateUp(fresh.handle)).toEqual({ applied, reverted: [] });
  });

  it('down with nothing applied reverts nothing', async () => {
    expect(await migrateDown(fresh.handle)).toEqual({ applied: [], reverted: [] });
  });

  it('a script with several statements and a dollar-quoted body runs as one migration', async () => {
    const dir = await fixtures.write({
      '0001_counters.up.sql': `
        create table counters (name text primary key, value integer not null);
        insert into counters values ('a', 1);
        create function bump(counter text) returns integer language plpgsql as $$
          begin
            update counters set value = value + 1 where name = counter;
            return (select value from counters where name = counter);
          end;
        $$;`,
      '0001_counters.down.sql': 'drop function bump(text); drop table counters;',
    });

    expect(await migrateUp(fresh.handle, { dir })).toEqual({ applied: ['0001_counters'], reverted: [] });
    const { rows } = await sql<{ value: number }>`select bump(${'a'}) as value`.execute(fresh.handle.db);
    expect(rows).toEqual([{ value: 2 }]);
    expect(await migrateDown(fresh.handle, { dir })).toEqual({ applied: [], reverted: ['0001_counters'] });
  });

  it('a failing migration is named in the error and nothing from its run stays applied', async () => {
    const dir = await fixtures.write({
      '0001_good.up.sql': 'create table good (id integer);',
      '0001_good.down.sql': 'drop table good;',
      '0002_broken.up.sql': 'create table half_done (id integer); select * from no_such_table;',
      '0002_broken.down.sql': 'drop table half_done;',
    });

    await expect(migrateUp(fresh.handle, { dir })).rejects.toThrow(/^migration 0002_broken \(up\) failed: .*no_such_table/);
    expect(await migrationStatus(fresh.handle, { dir })).toEqual([
      { name: '0001_good', applied: false },
      { name: '0002_broken', applied: false },
    ]);
    expect(await tableNames(fresh.handle)).toEqual([]);
  });

  it('an up-to-date database still sees a migration added later, a misnamed file and an applied one that vanished', async () => {
    const files = { '0001_first.up.sql': 'create table first (id integer);', '0001_first.down.sql': 'drop table first;' };
    const dir = await fixtures.write(files);
    expect(await migrateUp(fresh.handle, { dir })).toEqual({ applied: ['0001_first'], reverted: [] });

    await writeFile(path.join(dir, '0002_second.up.sql'), 'create table second (id integer);');
    await writeFile(path.join(dir, '0002_second.down.sql'), 'drop table second;');
    expect(await migrateUp(fresh.handle, { dir })).toEqual({ applied: ['0002_second'], reverted: [] });
    expect(await migrateUp(fresh.handle, { dir })).toEqual({ applied: [], reverted: [] });

    await writeFile(path.join(dir, 'third.up.sql'), 'create table third (id integer);');
    await expect(migrateUp(fresh.handle, { dir })).rejects.toThrow(/third\.up\.sql must be named NNNN_name/);

    // A folder that lost an applied migration is Kysely's to refuse, not "up to date".
    await expect(migrateUp(fresh.handle, { dir: await fixtures.write(files) })).rejects.toThrow(/0002_second/);
    expect(await tableNames(fresh.handle)).toEqual(['first', 'second']);
  });

  it('a migration without a down step is refused before anything runs', async () => {
    const dir = await fixtures.write({ '0001_one_way.up.sql': 'create table one_way (id integer);' });

    await expect(migrateUp(fresh.handle, { dir })).rejects.toThrow(/0001_one_way has no 0001_one_way\.down\.sql/);
    expect(await tableNames(fresh.handle)).toEqual([]);
  });
});

async function tableNames(handle: DatabaseHandle): Promise<string[]> {
  return (await handle.db.introspection.getTables()).map((t) => t.name).sort();
}

/** Temporary migration folders, removed after each test. */
function migrationFixtures() {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
  return {
    async write(files: Record<string, string>): Promise<string> {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'rampart-migrations-'));
      dirs.push(dir);
      await Promise.all(Object.entries(files).map(([name, text]) => writeFile(path.join(dir, name), text)));
      return dir;
    },
  };
}
