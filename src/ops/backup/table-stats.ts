// Per-table row counts and content checksums: what a backup records and a restore drill
// compares. Both sides run the same SQL, so a restored database matches its source exactly
// when no row was lost or changed.

/** Runs one statement and returns its rows; the caller keeps every call in one transaction. */
export type RunSql = <Row>(text: string) => Promise<Row[]>;

export interface TableStat {
  rows: number;
  /** Order-independent: the sum of each row's hash (60 bits of md5 of its text form), as a decimal string. */
  checksum: string;
}

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

/** Counts and checksums of every ordinary table outside the system schemas, keyed `schema.table`. */
export async function tableStats(run: RunSql): Promise<Record<string, TableStat>> {
  for (const statement of STABLE_TEXT) await run(statement);
  // format('%I.%I') quotes the names as PostgreSQL does; they come from the catalog, never from input.
  const tables = await run<{ name: string; quoted: string }>(
    `select n.nspname || '.' || c.relname as name, format('%I.%I', n.nspname, c.relname) as quoted
       from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where c.relkind = 'r' and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_(toast|temp)'
      order by 1`,
  );
  const stats: Record<string, TableStat> = {};
  for (const table of tables) {
    const [row] = await run<{ rows: string; checksum: string }>(
      `select count(*)::text as rows, coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint), 0)::text as checksum from ${table.quoted} as t`,
    );
    stats[table.name] = { rows: Number(row!.rows), checksum: row!.checksum };
  }
  return stats;
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
