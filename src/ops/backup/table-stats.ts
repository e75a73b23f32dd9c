// Per-table row counts and content checksums: what a backup records and a restore drill
// compares. Both sides run the same SQL, so a restored database matches its source exactly
// when no row was lost or changed.

/** Runs one statement and returns its rows; the caller keeps every call in one transaction. */
export type RunSql = <Row>(text: string) => Promise<Row[]>;

/**
 * How a table's rows are hashed: `record` hashes each column with its type's own hash
 * function (no text form: three times as fast as md5 on text); `text` hashes the row's text
 * form, for tables with a column type that has no hash function; `md5` is how backups made
 * before these existed were summed (60 bits of md5 of the text form), still verifiable.
 * All are the hash functions PostgreSQL keeps stable across versions for hash partitioning.
 */
export type RowHash = 'record' | 'text' | 'md5';

export interface TableStat {
  rows: number;
  /** Order-independent: the sum of each row's hash, as a decimal string. */
  checksum: string;
  /** Absent: `md5` (a backup from before the choice existed). */
  hash?: RowHash;
}

const ROW_HASH_SQL: Record<RowHash, string> = {
  record: 'sum(hash_record_extended(t, 0))',
  text: 'sum(hashtextextended(t::text, 0))',
  md5: "sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint)",
};

/**
 * A row's text form depends on session settings (time zone, date and float output): fixed
 * here so a backup taken in one zone and restored on a server in another still matches.
 * `set local` lasts until the caller's transaction ends.
 */
const STABLE_TEXT = [
  "set local timezone = 'UTC'",
  "set local datestyle = 'ISO, YMD'",
  "set local intervalstyle = 'postgres'",
  'set local extra_float_digits = 1',
  "set local bytea_output = 'hex'",
];

/**
 * Counts and checksums of every ordinary table outside the system schemas, keyed `schema.table`.
 * With `expected` (a backup's stats) each table is hashed as the backup hashed it; otherwise
 * by `record`, or `text` where a column's type has no hash function (or the server predates
 * `hash_record_extended`, PostgreSQL 14).
 */
export async function tableStats(run: RunSql, expected?: Record<string, TableStat>): Promise<Record<string, TableStat>> {
  for (const statement of STABLE_TEXT) await run(statement);
  const tables = await userTables(run);
  const stats: Record<string, TableStat> = {};
  const statOf = async (quoted: string, hash: RowHash): Promise<TableStat> => {
    const [row] = await run<{ rows: string; checksum: string }>(`select count(*)::text as rows, coalesce(${ROW_HASH_SQL[hash]}, 0)::text as checksum from ${quoted} as t`);
    return { rows: Number(row!.rows), checksum: row!.checksum, hash };
  };
  for (const table of tables) {
    const recorded = expected?.[table.name];
    if (recorded) {
      stats[table.name] = await statOf(table.quoted, recorded.hash ?? 'md5');
      continue;
    }
    // The savepoint keeps the caller's transaction (and its snapshot) alive past the failure.
    await run('savepoint rampart_table_stats');
    try {
      stats[table.name] = await statOf(table.quoted, 'record');
      await run('release savepoint rampart_table_stats');
    } catch {
      await run('rollback to savepoint rampart_table_stats');
      stats[table.name] = await statOf(table.quoted, 'text');
    }
  }
  return stats;
}

/** Every ordinary table outside the system schemas. */
function userTables(run: RunSql): Promise<Array<{ name: string; quoted: string }>> {
  // format('%I.%I') quotes the names as PostgreSQL does; they come from the catalog, never from input.
  return run<{ name: string; quoted: string }>(
    `select n.nspname || '.' || c.relname as name, format('%I.%I', n.nspname, c.relname) as quoted
       from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where c.relkind = 'r' and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_(toast|temp)'
      order by 1`,
  );
}

/**
 * How many tables a database holds and, with `countRows`, how many rows (a scan of each table,
 * no hashing): enough to refuse to overwrite it, without checksumming what is about to be replaced.
 */
export async function tableCensus(run: RunSql, countRows: boolean): Promise<{ tables: number; rows: number }> {
  const tables = await userTables(run);
  let rows = 0;
  if (countRows) for (const table of tables) rows += Number((await run<{ rows: string }>(`select count(*)::text as rows from ${table.quoted}`))[0]!.rows);
  return { tables: tables.length, rows };
}

export interface StatDifference {
  table: string;
  expected: TableStat | undefined;
  actual: TableStat | undefined;
}

/** Tables whose count or checksum differ, including tables present on one side only. */
export function compareStats(expected: Record<string, TableStat>, actual: Record<string, TableStat>): StatDifference[] {
  const names = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
  return names
    .filter((name) => expected[name]?.rows !== actual[name]?.rows || expected[name]?.checksum !== actual[name]?.checksum)
    .map((table) => ({ table, expected: expected[table], actual: actual[table] }));
}

export const totalRows = (stats: Record<string, TableStat>): number => Object.values(stats).reduce((sum, s) => sum + s.rows, 0);
