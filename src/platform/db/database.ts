import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import { describeDatabaseFailure, secretsOf } from './failure-reason.js';
import { PGliteDialect } from './pglite-dialect.js';
import { holdDataDirLock } from './data-dir-lock.js';
import { seedFromTemplate } from './pglite-template.js';
import type { Tables } from './tables.js';

export interface DatabaseOptions {
  /** PostgreSQL URL; unset means embedded PGlite under `dataDir`. */
  url?: string;
  dataDir: string;
  poolMax: number;
  idleTimeoutMs: number;
  connectTimeoutMs: number;
  /** Receives pooled connections that die while idle (e.g. PostgreSQL restarting). */
  logger?: Pick<Logger, 'warn'>;
}

export interface DatabaseHandle {
  db: Kysely<Tables>;
  kind: 'pglite' | 'postgres';
  /** Cheap `select 1` bounded by timeoutMs; never throws; details like "ok:pglite", "ok:postgres", or "error: <short reason>" with NO credentials/URL in it. */
  check(timeoutMs: number): Promise<{ ok: boolean; details: string }>;
  /** pool figures for metrics: total, idle, waiting (PGlite: 1,0 or 1,1,0) */
  poolStats(): { total: number; idle: number; waiting: number };
  close(): Promise<void>;
}

/** Where the embedded database lives inside the data directory. */
export function pgliteDir(dataDir: string): string {
  return path.join(dataDir, 'pglite');
}

export async function openDatabase(opts: DatabaseOptions): Promise<DatabaseHandle> {
  return opts.url ? openPostgres(opts.url, opts) : openPGlite(opts.dataDir);
}

async function openPGlite(dataDir: string): Promise<DatabaseHandle> {
  const dir = pgliteDir(dataDir);
  // Two processes on one PGlite directory corrupt it; the second is refused with a reason.
  const lock = await holdDataDirLock(dataDir);
  try {
    await seedFromTemplate(dir);
    await mkdir(dir, { recursive: true });
    const dialect = new PGliteDialect(await PGlite.create(dir));
    const db = new Kysely<Tables>({ dialect });
    return handle(db, 'pglite', () => dialect.stats(), [], () => lock.release());
  } catch (error) {
    await lock.release();
    throw error;
  }
}

function openPostgres(url: string, opts: DatabaseOptions): DatabaseHandle {
  // pg parses sslmode & co. from the connection string; nothing connects until the first query.
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolMax,
    idleTimeoutMillis: opts.idleTimeoutMs,
    connectionTimeoutMillis: opts.connectTimeoutMs,
  });
  const secrets = secretsOf(url);
  // Without a listener, an idle client dropped by a PostgreSQL restart is an uncaught 'error'
  // that kills the process. pg-pool has already discarded the client; the next query reconnects.
  pool.on('error', (error) => {
    opts.logger?.warn({ reason: describeDatabaseFailure(error, secrets) }, 'idle PostgreSQL connection lost');
  });
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
  const stats = () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount });
  return handle(db, 'postgres', stats, secrets, async () => {});
}

function handle(
  db: Kysely<Tables>,
  kind: DatabaseHandle['kind'],
  poolStats: DatabaseHandle['poolStats'],
  secrets: string[],
  afterClose: () => Promise<void>,
): DatabaseHandle {
  let closing: Promise<void> | undefined;
  return {
    db,
    kind,
    poolStats,
    async check(timeoutMs) {
      try {
        await withTimeout(sql`select 1`.execute(db), timeoutMs);
        return { ok: true, details: `ok:${kind}` };
      } catch (error) {
        return { ok: false, details: `error: ${describeDatabaseFailure(error, secrets)}` };
      }
    },
    close() {
      closing ??= db.destroy().finally(afterClose);
      return closing;
    },
  };
}

function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs}ms`)), timeoutMs);
  });
  // The abandoned query may still fail later; that must not become an unhandled rejection.
  work.catch(() => {});
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
