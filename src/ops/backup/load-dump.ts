import { spawn } from 'node:child_process';
import { Transform, type Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { PGlite } from '@electric-sql/pglite';
import { BackupError } from './backup-error.js';
import type { BackupMetadata } from './backup-metadata.js';
import { connect, libpqTarget, scrub, type PostgresConnection } from './postgres-connection.js';
import { lastMigration } from './dump-source.js';
import { tableStats, type RunSql, type TableStat } from './table-stats.js';

/** A database a backup is loaded into: a real server's (by URL) or an open PGlite. */
export type LoadTarget = { kind: 'postgres'; connection: PostgresConnection } | { kind: 'pglite'; pglite: PGlite };

/**
 * Loads a decrypted, decompressed dump into an empty database, stopping at the first error:
 * `pg_restore` for custom dumps, `psql` for plain SQL on a server, PGlite itself for SQL on
 * embedded.
 */
export async function loadDump(target: LoadTarget, dump: BackupMetadata['dump'], plain: Readable): Promise<void> {
  if (target.kind === 'pglite') {
    if (dump === 'custom') throw new BackupError('refused', 'this backup was taken from PostgreSQL (pg_dump custom format): it restores into PostgreSQL; pass --target-url or set DATABASE_URL');
    const chunks: Buffer[] = [];
    for await (const chunk of plain) chunks.push(chunk as Buffer);
    await target.pglite.exec(Buffer.concat(chunks).toString('utf8')).catch((error: Error) => {
      throw new BackupError('failed', `loading the dump into the embedded database failed: ${error.message}`);
    });
    return;
  }
  const libpq = libpqTarget(target.connection);
  const [command, args] = dump === 'custom'
    ? ['pg_restore', ['--no-owner', '--no-acl', '--exit-on-error', '--single-transaction', '--no-password', `--dbname=${libpq.url}`]]
    : ['psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '--no-password', `--dbname=${libpq.url}`]];
  const input = dump === 'sql' ? plain.pipe(withoutNewerSettings(await serverVersionNum(target.connection))) : plain;
  plain.on('error', (error) => input.destroy(error));
  const child = spawn(command, args, {
    stdio: ['pipe', 'ignore', 'pipe'],
    env: { ...process.env, ...(libpq.password ? { PGPASSWORD: libpq.password } : {}), PGAPPNAME: 'rampart-restore' },
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => void (stderr = (stderr + chunk.toString('utf8')).slice(-4_000)));
  child.stdin.on('error', () => {}); // an early exit is reported through the exit code
  const exited = new Promise<void>((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'ENOENT' ? new BackupError('failed', `${command} is not installed (Debian package \`postgresql-client\`)`) : error));
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new BackupError('failed', `${command} ${signal ? `was killed (${signal})` : `exited with ${code}`}: ${scrub(stderr.trim(), target.connection) || 'no message'}`));
    });
  });
  const fed = new Promise<void>((resolve, reject) => {
    input.once('error', (error) => {
      child.kill('SIGTERM');
      reject(error);
    });
    input.once('end', resolve);
  });
  input.pipe(child.stdin);
  // The input's own failure (damaged file, wrong key) explains the restore tool's exit.
  const [feeding, exit] = await Promise.allSettled([fed, exited]);
  if (feeding.status === 'rejected') throw feeding.reason;
  if (exit.status === 'rejected') throw exit.reason;
}

/** Per-table figures of a loaded database, for comparison with the backup's metadata. */
/** The loaded database's stats, each table hashed as the backup (`expected`) hashed it. */
export async function loadedStats(target: LoadTarget, expected: Record<string, TableStat>): Promise<{ tables: Record<string, TableStat>; migration: string | null }> {
  if (target.kind === 'pglite') {
    return target.pglite.transaction(async (tx) => {
      const run: RunSql = async (text) => (await tx.query(text)).rows as never[];
      return { tables: await tableStats(run, expected), migration: await lastMigration(run) };
    });
  }
  const client = await connect(target.connection);
  try {
    await client.query('begin isolation level repeatable read read only');
    const run: RunSql = async (text) => (await client.query(text)).rows;
    return { tables: await tableStats(run, expected), migration: await lastMigration(run) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function serverVersionNum(connection: PostgresConnection): Promise<number> {
  const client = await connect(connection);
  try {
    return Number((await client.query<{ v: string }>("select current_setting('server_version_num') as v")).rows[0]!.v);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Embedded dumps come from PGlite's pg_dump (PostgreSQL 18); their preamble sets
 * `transaction_timeout`, a setting older servers do not know. Those lines are dropped for a
 * server that predates it; nothing else is touched.
 */
function withoutNewerSettings(serverVersion: number): Transform {
  let carry = '';
  // A multi-byte character may straddle two chunks.
  const decoder = new StringDecoder('utf8');
  const drop = serverVersion < 170_000 ? /^SET transaction_timeout = [^;]*;$/ : undefined;
  const filter = (lines: string[]) => (drop ? lines.filter((line) => !drop.test(line)) : lines);
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const lines = (carry + decoder.write(chunk)).split('\n');
      carry = lines.pop() ?? '';
      done(null, lines.length > 0 ? `${filter(lines).join('\n')}\n` : '');
    },
    flush(done) {
      done(null, filter([carry + decoder.end()]).join('\n'));
    },
  });
}
