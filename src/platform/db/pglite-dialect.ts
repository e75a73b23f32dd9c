import { Mutex, type PGlite, type Results } from '@electric-sql/pglite';
import {
  CompiledQuery,
  IdentifierNode,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  RawNode,
  createQueryId,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';

export interface PGliteStats {
  total: number;
  idle: number;
  waiting: number;
}

/**
 * Kysely dialect over one PGlite instance, which it owns: destroying the Kysely closes it.
 *
 * PGlite is a single session, so the driver lends out one connection at a time and holds it
 * from acquire to release; a transaction therefore never sees another caller's statements.
 * Trap: inside `db.transaction().execute(trx => …)` use `trx`, never `db` — on PGlite the
 * outer `db` waits for the transaction that is waiting for it.
 */
export class PGliteDialect implements Dialect {
  readonly #driver: PGliteDriver;

  constructor(pglite: PGlite) {
    this.#driver = new PGliteDriver(pglite);
  }

  stats(): PGliteStats {
    return this.#driver.stats();
  }

  /** LISTEN on the session, between transactions: issued inside one, a rollback would undo it. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    return this.#driver.listen(channel, onNotify);
  }

  createAdapter() {
    return new PostgresAdapter();
  }

  createDriver(): Driver {
    return this.#driver;
  }

  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Dialect's own signature
  createIntrospector(db: Kysely<any>) {
    return new PostgresIntrospector(db);
  }
}

class PGliteDriver implements Driver {
  readonly #mutex = new Mutex();
  readonly #connection: PGliteConnection;
  readonly #pglite: PGlite;
  #release: (() => void) | undefined;
  #waiting = 0;

  constructor(pglite: PGlite) {
    this.#pglite = pglite;
    this.#connection = new PGliteConnection(pglite);
  }

  async init(): Promise<void> {
    await this.#pglite.waitReady;
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    this.#waiting += 1;
    try {
      this.#release = await this.#mutex.acquire();
    } finally {
      this.#waiting -= 1;
    }
    return this.#connection;
  }

  async releaseConnection(): Promise<void> {
    const release = this.#release;
    this.#release = undefined;
    release?.();
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const modes = [settings.isolationLevel && `isolation level ${settings.isolationLevel}`, settings.accessMode].filter(Boolean);
    await connection.executeQuery(CompiledQuery.raw(modes.length ? `start transaction ${modes.join(' ')}` : 'begin'));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async savepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    await connection.executeQuery(compile(savepointCommand('savepoint', name), createQueryId()));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    await connection.executeQuery(compile(savepointCommand('rollback to', name), createQueryId()));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    await connection.executeQuery(compile(savepointCommand('release', name), createQueryId()));
  }

  async destroy(): Promise<void> {
    // Let a running transaction finish instead of closing the database under it.
    await this.#mutex.runExclusive(async () => {
      if (!this.#pglite.closed) await this.#pglite.close();
    });
  }

  async listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    const unlisten = await this.#mutex.runExclusive(() => this.#pglite.listen(channel, onNotify));
    return async () => {
      if (!this.#pglite.closed) await this.#mutex.runExclusive(() => unlisten());
    };
  }

  stats(): PGliteStats {
    return { total: 1, idle: this.#mutex.isLocked() ? 0 : 1, waiting: this.#waiting };
  }
}

// IdentifierNode quotes the name, so a savepoint name can never inject SQL.
function savepointCommand(command: string, name: string) {
  return RawNode.createWithChildren([RawNode.createWithSql(`${command} `), IdentifierNode.create(name)]);
}

const ROW_COUNT_COMMANDS = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

class PGliteConnection implements DatabaseConnection {
  readonly #pglite: PGlite;

  constructor(pglite: PGlite) {
    this.#pglite = pglite;
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    // Mirror node-postgres: a query without parameters goes over the simple protocol, which
    // accepts several statements (migration scripts); with parameters, the extended one.
    const result: Results<R> | undefined =
      query.parameters.length === 0
        ? ((await this.#pglite.exec(query.sql)).at(-1) as Results<R> | undefined)
        : await this.#pglite.query<R>(query.sql, [...query.parameters]);
    if (!result) return { rows: [] };
    return {
      rows: result.rows,
      numAffectedRows:
        result.command !== undefined && ROW_COUNT_COMMANDS.has(result.command) ? BigInt(result.rowCount ?? result.affectedRows ?? 0) : undefined,
    };
  }

  // eslint-disable-next-line require-yield -- the interface demands a generator; PGlite has no cursors
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming queries are not supported on PGlite');
  }
}
