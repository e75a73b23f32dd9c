import type { InsertType, SelectType } from 'kysely';
import { describe, expect, it } from 'vitest';
import { migrateUp } from '../../src/platform/db/migrations.js';
import type { Tables } from '../../src/platform/db/tables.js';
import { databaseTargets, freshDatabasePerTest } from '../support/databases.js';

/** What the migrated database must show for a column; the flags are derived from `Tables`. */
interface Column<T> {
  type: string;
  nullable: null extends SelectType<T> ? true : false;
  hasDefault: undefined extends InsertType<T> ? true : false;
}

type Schema = { [Table in keyof Tables]: { [Name in keyof Tables[Table]]-?: Column<Tables[Table][Name]> } };

// The mapped type forces an entry for every table and column in `Tables` (and no others), with
// nullability and defaults matching its types; the test then holds the migrations to it.
const schema: Schema = {
  worker_heartbeats: {
    worker_id: { type: 'text', nullable: false, hasDefault: false },
    hostname: { type: 'text', nullable: false, hasDefault: false },
    pid: { type: 'int4', nullable: false, hasDefault: false },
    started_at: { type: 'timestamptz', nullable: false, hasDefault: true },
    last_seen_at: { type: 'timestamptz', nullable: false, hasDefault: true },
  },
};

describe.each(databaseTargets())('Tables on $name', (factory) => {
  const fresh = freshDatabasePerTest(factory);

  it('describes exactly the tables and columns the migrations create', async () => {
    await migrateUp(fresh.handle);

    const tables = await fresh.handle.db.introspection.getTables();
    const actual = Object.fromEntries(
      tables.map((table) => [
        table.name,
        Object.fromEntries(
          table.columns.map((c) => [c.name, { type: c.dataType, nullable: c.isNullable, hasDefault: c.hasDefaultValue }]),
        ),
      ]),
    );
    expect(actual).toEqual(schema);
  });
});
