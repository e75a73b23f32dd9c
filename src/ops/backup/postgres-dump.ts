import { spawn } from 'node:child_process';
import { BackupError } from './backup-error.js';
import { connect, libpqTarget, scrub, type PostgresConnection } from './postgres-connection.js';
import { lastMigration, type DumpSource } from './dump-source.js';
import { tableStats, type RunSql } from './table-stats.js';

/**
 * Starts `pg_dump -Fc` (uncompressed: zstd does that, faster) in a snapshot this connection
 * exports, and counts and checksums every table in the same snapshot, so the recorded
 * figures describe exactly the dumped rows however busy the database is.
 */
export async function dumpPostgres(connection: PostgresConnection): Promise<DumpSource> {
  const client = await connect(connection, 'rampart-backup');
  try {
    await client.query('begin isolation level repeatable read read only');
    const { rows } = await client.query<{ snapshot: string }>('select pg_export_snapshot() as snapshot');
    const libpq = libpqTarget(connection);
    const child = spawn('pg_dump', ['--format=custom', '--compress=0', `--snapshot=${rows[0]!.snapshot}`, '--no-password', `--dbname=${libpq.url}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // The password travels in the environment, never on a command line others can read.
      env: { ...process.env, ...(libpq.password ? { PGPASSWORD: libpq.password } : {}), PGAPPNAME: 'rampart-backup' },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => void (stderr = (stderr + chunk.toString('utf8')).slice(-4_000)));
    const exited = new Promise<void>((resolve, reject) => {
      child.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'ENOENT' ? new BackupError('failed', 'pg_dump is not installed (Debian package `postgresql-client`, the same major version as the server or newer)') : error));
      child.once('close', (code, signal) => {
        if (code === 0) resolve();
        else reject(new BackupError('failed', `pg_dump ${signal ? `was killed (${signal})` : `exited with ${code}`}: ${scrub(stderr.trim(), connection) || 'no message'}`));
      });
    });
    exited.catch(() => {});
    const facts = (async () => {
      const [version] = (await client.query<{ server_version: string }>('show server_version')).rows;
      const run: RunSql = async (text) => (await client.query(text)).rows;
      const migration = await lastMigration(run);
      const tables = await tableStats(run);
      return { postgresVersion: version!.server_version, migration, tables };
    })();
    facts.catch(() => child.kill('SIGTERM'));
    const done = (async () => {
      try {
        const [result] = await Promise.all([facts, exited]);
        return result;
      } finally {
        await client.query('rollback').catch(() => undefined);
        await client.end().catch(() => undefined);
      }
    })();
    return { source: 'postgres', dump: 'custom', stream: child.stdout, done };
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
}
