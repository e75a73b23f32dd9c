import { Readable } from 'node:stream';
import type { PGlite } from '@electric-sql/pglite';
import { lastMigration, type DumpSource } from './dump-source.js';
import { tableStats, type RunSql } from './table-stats.js';

/**
 * Dumps an embedded database with PGlite's own pg_dump (WASM, the server's major version):
 * plain SQL, which restores into PGlite and into a real PostgreSQL alike. That pg_dump
 * writes into PGlite's in-memory file system, so the dump passes through memory once; an
 * embedded database is a development one (production requires DATABASE_URL). The caller
 * holds the data-directory lock, so nothing writes between the figures and the dump.
 */
export async function dumpPGlite(pglite: PGlite): Promise<DumpSource> {
  const facts = await pglite.transaction(async (tx) => {
    const version = (await tx.query<{ server_version: string }>('show server_version')).rows[0]!.server_version;
    const run: RunSql = async (text) => (await tx.query(text)).rows as never[];
    const migration = await lastMigration(run);
    const tables = await tableStats(run);
    return { postgresVersion: version.replace(/\s.*$/, ''), migration, tables };
  });
  const { pgDump } = await import('@electric-sql/pglite-tools/pg_dump');
  // No owners or grants: the restoring role owns everything, on PGlite or a real server.
  const file = await pgDump({ pg: pglite, args: ['--no-owner', '--no-privileges'] });
  return { source: 'pglite', dump: 'sql', stream: Readable.fromWeb(file.stream() as never), done: Promise.resolve(facts) };
}
