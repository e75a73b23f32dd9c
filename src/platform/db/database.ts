import { mkdir } from 'node:fs/promises';
import { Kysely, PostgresDialect, sql, type Dialect } from 'kysely';
import { lazyRequire } from '../lazy-require.js';
import type * as Pg from 'pg';
import type { Logger } from 'pino';
import { DatabaseUnavailableError, describeDatabaseFailure, markConnectionLost, passwordInUrl, secretsOf } from './failure-reason.js';
import { observedDialect, type QueryObserver } from './observed-dialect.js';
import { PGliteDialect } from './pglite-dialect.js';
import { holdDataDirLock } from './data-dir-lock.js';
import { createPGlite, seedFromTemplate } from './pglite-template.js';
import { pgliteDir } from './template-paths.js';
import type { Tables } from './tables.js';

// Loaded when PostgreSQL is used: an embedded start does not pay for it.
const loadPg = lazyRequire<typeof Pg>('pg');

export interface DatabaseOptions {
  /** PostgreSQL URL; unset means embedded PGlite under `dataDir`. */
  url?: string;
  /**
   * Read at every new connection, so a rotated password (DATABASE_PASSWORD from the secrets
   * chain) is used without a restart. Undefined: the password in the URL, if any.
   */
  password?: () => string | undefined;
  /**
   * The previous generation of the password (Secrets Manager's AWSPREVIOUS), tried when
   * PostgreSQL refuses the current one: a rotation may stage the new password before the
   * role is altered. New connections keep using it until it is refused in turn (the role
   * was altered) or the current value changes.
   */
  previousPassword?: () => string | undefined;
  /**
   * Called when PostgreSQL refuses the password of a new connection (it may have been rotated
   * a moment ago); the connection is then retried a few times with backoff, so a rotation
   * delays a query rather than failing it.
   */
  onAuthenticationFailure?: () => Promise<void>;
  dataDir: string;
  poolMax: number;
  idleTimeoutMs: number;
  /** Retire a pooled connection after this long (seconds) even when busy, so the pool moves onto a rotated password. 0 or absent: never. */
  maxLifetimeS?: number;
  connectTimeoutMs: number;
  /**
   * Embedded only: a new data directory starts as a copy of this cluster (e.g. the migrated
   * template, see migrated-template.ts) when it exists; otherwise the pristine template.
   */
  seedTemplate?: string;
  /** Receives pooled connections that die while idle (e.g. PostgreSQL restarting), and which password generation new connections use when it changes (never a value). */
  logger?: Pick<Logger, 'warn'> & Partial<Pick<Logger, 'info'>>;
  /** Sees every statement (metrics, trace spans); the SQL only, never the parameters. */
  observeQuery?: QueryObserver;
}

export interface DatabaseHandle {
  db: Kysely<Tables>;
  kind: 'pglite' | 'postgres';
  /** Cheap `select 1` bounded by timeoutMs; never throws; details like "ok:pglite", "ok:postgres", or "error: <short reason>" with NO credentials/URL in it. */
  check(timeoutMs: number): Promise<{ ok: boolean; details: string }>;
  /**
   * Calls `onNotify` for each NOTIFY on `channel` (delivered at commit) until the returned
   * function is called. On PostgreSQL it holds one connection of its own and re-connects by
   * itself after losing it; notifications sent while it was away are lost, so use it to
   * wake pollers, never as the only signal.
   */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  /** pool figures for metrics: total, idle, waiting (PGlite: 1,0 or 1,1,0) */
  poolStats(): { total: number; idle: number; waiting: number };
  close(): Promise<void>;
}

export async function openDatabase(opts: DatabaseOptions): Promise<DatabaseHandle> {
  return opts.url ? openPostgres(opts.url, opts) : openPGlite(opts.dataDir, opts.seedTemplate, opts.observeQuery);
}

const kyselyOver = (dialect: Dialect, observe: QueryObserver | undefined) => new Kysely<Tables>({ dialect: observe ? observedDialect(dialect, observe) : dialect });

async function openPGlite(dataDir: string, seedTemplate?: string, observeQuery?: QueryObserver): Promise<DatabaseHandle> {
  const dir = pgliteDir(dataDir);
  // Two processes on one PGlite directory corrupt it; the second is refused with a reason.
  const lock = await holdDataDirLock(dataDir);
  try {
    await seedFromTemplate(dir, seedTemplate);
    await mkdir(dir, { recursive: true });
    const dialect = new PGliteDialect(await createPGlite(dir));
    const db = kyselyOver(dialect, observeQuery);
    return handle(db, 'pglite', () => dialect.stats(), (channel, onNotify) => dialect.listen(channel, onNotify), () => [], () => lock.release());
  } catch (error) {
    await lock.release();
    throw error;
  }
}

function openPostgres(url: string, opts: DatabaseOptions): DatabaseHandle {
  // pg parses sslmode & co. from the connection string; nothing connects until the first query.
  const urlPassword = passwordInUrl(url);
  const currentPassword = opts.password;
  const previousPassword = opts.previousPassword;
  // Which generation new connections use. 'previous' only while a previous value exists and
  // the current value is the one that was refused (`refusedCurrent`); a new current value
  // (the provider was updated again) is tried first.
  let preferred: PasswordGeneration = 'current';
  let refusedCurrent: string | undefined;
  let reported: PasswordGeneration = 'current';
  const choose = (): { generation: PasswordGeneration; password: string | undefined } => {
    const current = currentPassword?.() ?? urlPassword;
    const previous = previousPassword?.();
    if (preferred === 'previous' && previous !== undefined && previous !== current && current === refusedCurrent) return { generation: 'previous', password: previous };
    return { generation: 'current', password: current };
  };
  /**
   * After a refusal of `tried`: whether a different password is now due (retry at once). A
   * refused current value that the chain has since replaced is simply retried; otherwise the
   * other generation, when there is one, is tried next.
   */
  const refused = (tried: { generation: PasswordGeneration; password: string | undefined }): boolean => {
    const now = choose();
    if (now.generation !== tried.generation || now.password !== tried.password) return true; // the chain or another connection moved on
    if (tried.generation === 'previous') {
      preferred = 'current';
      return true;
    }
    const previous = previousPassword?.();
    if (previous === undefined || previous === now.password) return false;
    refusedCurrent = now.password;
    preferred = 'previous';
    return true;
  };
  // pg lets the connection string's password (or its absence) override a `password`
  // option, so the function is set on each client after construction instead. The client
  // remembers which generation it authenticated with.
  const pg = loadPg();
  class RotatingPasswordClient extends pg.Client {
    passwordGeneration: PasswordGeneration | undefined;
    generationReported = false;
    constructor(config?: Pg.ClientConfig) {
      super(config);
      // A connection lost while checked out (PostgreSQL restarting mid-query) fails the running
      // query with the error emitted here, marked so it answers 503. pg-pool listens only to
      // idle clients, and an unheard 'error' would end the process.
      this.on('error', markConnectionLost);
      if (currentPassword) {
        (this as { password?: unknown }).password = () => {
          const { generation, password } = choose();
          this.passwordGeneration = generation;
          return password;
        };
      }
    }
  }
  const pool = new pg.Pool({
    Client: RotatingPasswordClient,
    connectionString: url,
    max: opts.poolMax,
    idleTimeoutMillis: opts.idleTimeoutMs,
    maxLifetimeSeconds: opts.maxLifetimeS ?? 0,
    connectionTimeoutMillis: opts.connectTimeoutMs,
  });
  // Failure descriptions scrub the URL's password and the current one (read when a check fails).
  const secrets = secretsOf(url);
  const secretsNow = () => [...secrets, ...[currentPassword?.(), previousPassword?.()].filter((p): p is string => p !== undefined)];
  // Without a listener, an idle client dropped by a PostgreSQL restart is an uncaught 'error'
  // that kills the process. pg-pool has already discarded the client; the next query reconnects.
  pool.on('error', (error) => {
    opts.logger?.warn({ reason: describeDatabaseFailure(error, secretsNow()) }, 'idle PostgreSQL connection lost');
  });
  // Any failure to get a connection means the database is unavailable, whatever the query.
  const connect = async (): Promise<Pg.PoolClient> => {
    try {
      return await connectRetryingRefusedPasswords();
    } catch (error) {
      throw new DatabaseUnavailableError(describeDatabaseFailure(error, secretsNow()), { cause: error });
    }
  };
  const connectRetryingRefusedPasswords = async (): Promise<Pg.PoolClient> => {
    for (let attempt = 0; ; attempt++) {
      const tried = choose();
      try {
        const client = await pool.connect();
        // A new connection tells which generation it authenticated with (reused ones already did).
        const fresh = client as unknown as Partial<RotatingPasswordClient>;
        const used = fresh.generationReported === false ? fresh.passwordGeneration : undefined;
        if (used !== undefined) fresh.generationReported = true;
        if (used !== undefined && used !== reported) {
          reported = used;
          // Which generation, never the value.
          if (used === 'previous') opts.logger?.warn({ setting: 'DATABASE_PASSWORD', generation: 'previous' }, 'PostgreSQL refused the current database password; new connections use the previous one until the role is altered');
          else opts.logger?.info?.({ setting: 'DATABASE_PASSWORD', generation: 'current' }, 'new database connections use the current password again');
        }
        return client;
      } catch (error) {
        const hasPrevious = previousPassword?.() !== undefined;
        if ((error as { code?: string }).code !== INVALID_PASSWORD || (!opts.onAuthenticationFailure && !hasPrevious) || attempt >= AUTH_RETRIES) throw error;
        // A refused password may be one rotated a moment ago: re-read the chain first, so the
        // current value is fresh before falling back to the previous one.
        await opts.onAuthenticationFailure?.().catch(() => {});
        // The first switch to another password is retried at once; anything else backs off.
        if (!refused(tried) || attempt > 0) await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
      }
    }
  };
  const db = kyselyOver(new PostgresDialect({ pool: { connect, end: () => pool.end() } }), opts.observeQuery);
  const stats = () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount });
  return handle(db, 'postgres', stats, (channel, onNotify) => listenOnPostgres(connect, channel, onNotify, opts.logger), secretsNow, async () => {});
}

type PasswordGeneration = 'current' | 'previous';

async function listenOnPostgres(
  connect: () => Promise<Pg.PoolClient>,
  channel: string,
  onNotify: (payload: string) => void,
  logger: DatabaseOptions['logger'],
): Promise<() => Promise<void>> {
  const quotedChannel = loadPg().escapeIdentifier(channel);
  let stopped = false;
  let current: Listening | undefined;
  let retry: NodeJS.Timeout | undefined;
  const attach = async (reattaching: boolean): Promise<void> => {
    const next = await connect();
    if (stopped) {
      next.release();
      return;
    }
    const listening = handBackOnce(next);
    current = listening;
    next.on('notification', (message) => {
      if (message.channel === channel) onNotify(message.payload ?? '');
    });
    // A lost listening connection (PostgreSQL restart) is replaced; until then pollers poll.
    next.once('error', () => {
      if (current === listening) current = undefined;
      if (listening.handBack(true)) scheduleReattach();
    });
    try {
      await next.query(`listen ${quotedChannel}`);
    } catch (error) {
      if (current === listening) current = undefined;
      listening.handBack(true);
      throw error;
    }
    // NOTIFYs sent while no connection listened are lost: tell the subscriber to look now
    // rather than at its next poll (an empty payload names no particular message).
    if (reattaching) {
      logger?.info?.({ channel }, 'listening for notifications again');
      onNotify('');
    }
  };
  const scheduleReattach = () => {
    if (stopped) return;
    clearTimeout(retry);
    retry = setTimeout(() => {
      attach(true).catch((error: unknown) => {
        logger?.warn({ reason: describeDatabaseFailure(error, []) }, 'could not listen for notifications; retrying');
        scheduleReattach();
      });
    }, 1_000);
    retry.unref();
  };
  await attach(false);
  return async () => {
    stopped = true;
    clearTimeout(retry);
    const held = current;
    current = undefined;
    if (held) {
      const unlistened = await held.client.query(`unlisten ${quotedChannel}`).then(() => true, () => false);
      held.handBack(!unlistened);
    }
  };
}

interface Listening {
  client: Pg.PoolClient;
  /** Returns the connection to the pool (destroying it if asked) unless that was done already. */
  handBack(destroy: boolean): boolean;
}

// A listening connection can be lost (its 'error' event) after it was handed back, when
// the pool holds it idle and the database is dropped: releasing a client twice throws
// out of the event emitter and takes the process down.
function handBackOnce(client: Pg.PoolClient): Listening {
  let returned = false;
  return {
    client,
    handBack(destroy) {
      if (returned) return false;
      returned = true;
      client.release(destroy);
      return true;
    },
  };
}

const INVALID_PASSWORD = '28P01';
// 100 ms doubling: about 3 s in all, for the rotation's two halves (ALTER ROLE, provider) to meet.
const AUTH_RETRIES = 5;

function handle(
  db: Kysely<Tables>,
  kind: DatabaseHandle['kind'],
  poolStats: DatabaseHandle['poolStats'],
  listen: DatabaseHandle['listen'],
  secrets: () => string[],
  afterClose: () => Promise<void>,
): DatabaseHandle {
  let closing: Promise<void> | undefined;
  return {
    db,
    kind,
    poolStats,
    listen,
    async check(timeoutMs) {
      try {
        await withTimeout(sql`select 1`.execute(db), timeoutMs);
        return { ok: true, details: `ok:${kind}` };
      } catch (error) {
        return { ok: false, details: `error: ${describeDatabaseFailure(error, secrets())}` };
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
