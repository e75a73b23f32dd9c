import { sql, type Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { databaseTargets, freshDatabasePerTest } from '../../../test/support/databases.js';
import { compareStats, tableCensus, tableStats, type RunSql, type TableStat } from './table-stats.js';

/** Runs `work` with the statements in one transaction, as backups and restores do. */
async function inTransaction<T>(db: Kysely<unknown>, work: (run: RunSql) => Promise<T>): Promise<T> {
  return db.transaction().execute((trx) => work(async <Row>(text: string) => (await sql.raw(text).execute(trx)).rows as Row[]));
}

describe.each(databaseTargets())('table stats: the "every table checked" of a restore ($name)', (factory) => {
  const fresh = freshDatabasePerTest(factory);
  const db = () => fresh.handle.db as unknown as Kysely<unknown>;
  const exec = (text: string) => sql.raw(text).execute(db());

  async function withTables(): Promise<void> {
    await exec('create schema stats_test');
    await exec('create table stats_test.hashable (id bigint primary key, amount numeric(14,2), at timestamptz, body jsonb, note text)');
    await exec("insert into stats_test.hashable select g, g / 7.0, timestamptz '2025-01-01' + g * interval '1 minute', jsonb_build_object('n', g), md5(g::text) from generate_series(1, 500) g");
    // `json` and `point` have no hash function: such a table is hashed by its text form.
    await exec('create table stats_test.unhashable (id int, doc json, at point)');
    await exec(`insert into stats_test.unhashable select g, json_build_object('n', g), point(g, g) from generate_series(1, 50) g`);
  }
  const ours = (stats: Record<string, TableStat>) => Object.fromEntries(Object.entries(stats).filter(([name]) => name.startsWith('stats_test.')));

  it('hashes each row by its columns where every type has a hash function, by its text form elsewhere, in one transaction', async () => {
    await withTables();
    const stats = ours(await inTransaction(db(), (run) => tableStats(run)));
    expect(stats['stats_test.hashable']).toMatchObject({ rows: 500, hash: 'record' });
    expect(stats['stats_test.unhashable']).toMatchObject({ rows: 50, hash: 'text' });
  });

  it('sees a changed value, a lost row and an added row, whatever the hash', async () => {
    await withTables();
    const before = await inTransaction(db(), (run) => tableStats(run));
    // A backup made before the choice of hash recorded none: md5 of the text form.
    const legacy = Object.fromEntries(Object.entries(before).map(([name, stat]) => [name, { rows: stat.rows, checksum: '0' }]));
    const legacyBefore = await inTransaction(db(), (run) => tableStats(run, legacy));
    expect(Object.values(ours(legacyBefore)).map((s) => s.hash)).toEqual(['md5', 'md5']);

    await exec("update stats_test.hashable set note = 'changed' where id = 7");
    await exec('delete from stats_test.unhashable where id = 3');
    const after = await inTransaction(db(), (run) => tableStats(run, before));
    expect(compareStats(before, after).map((d) => d.table)).toEqual(['stats_test.hashable', 'stats_test.unhashable']);
    const legacyAfter = await inTransaction(db(), (run) => tableStats(run, legacyBefore));
    expect(compareStats(legacyBefore, legacyAfter).map((d) => d.table)).toEqual(['stats_test.hashable', 'stats_test.unhashable']);

    await exec("update stats_test.hashable set note = md5('7') where id = 7");
    await exec(`insert into stats_test.unhashable values (3, json_build_object('n', 3), point(3, 3))`);
    expect(compareStats(before, await inTransaction(db(), (run) => tableStats(run, before)))).toEqual([]);
    expect(compareStats(legacyBefore, await inTransaction(db(), (run) => tableStats(run, legacyBefore)))).toEqual([]);
  });

  it('counts tables and rows without hashing them, and only tables when rows are not asked for', async () => {
    await withTables();
    const everything = await inTransaction(db(), (run) => tableStats(run));
    const census = await inTransaction(db(), (run) => tableCensus(run, true));
    expect(census).toEqual({ tables: Object.keys(everything).length, rows: Object.values(everything).reduce((sum, s) => sum + s.rows, 0) });
    expect(await inTransaction(db(), (run) => tableCensus(run, false))).toEqual({ tables: census.tables, rows: 0 });
  });
});
