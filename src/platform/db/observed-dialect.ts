import type { CompiledQuery, DatabaseConnection, Dialect, Driver, QueryResult, TransactionSettings } from 'kysely';

/** Called when a statement starts; the returned function when it ends (with the error, if it failed). */
export type QueryObserver = (query: CompiledQuery) => (error?: unknown) => void;

/**
 * The dialect with every statement observed (metrics, trace spans), transaction control
 * included, for PostgreSQL and PGlite alike. Kysely hands connections back to the driver
 * that made them, so the wrapper unwraps them on release.
 */
export function observedDialect(dialect: Dialect, observe: QueryObserver): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createDriver: () => new ObservedDriver(dialect.createDriver(), observe),
  };
}

class ObservedConnection implements DatabaseConnection {
  constructor(readonly inner: DatabaseConnection, private readonly observe: QueryObserver) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const done = this.observe(query);
    try {
      const result = await this.inner.executeQuery<R>(query);
      done();
      return result;
    } catch (error) {
      done(error);
      throw error;
    }
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

class ObservedDriver implements Driver {
  readonly #wrapped = new WeakMap<DatabaseConnection, ObservedConnection>();

  constructor(private readonly inner: Driver, private readonly observe: QueryObserver) {}

  init() {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await this.inner.acquireConnection();
    let observed = this.#wrapped.get(connection);
    if (!observed) this.#wrapped.set(connection, (observed = new ObservedConnection(connection, this.observe)));
    return observed;
  }

  releaseConnection(connection: DatabaseConnection) {
    return this.inner.releaseConnection(unwrap(connection));
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings) {
    return this.inner.beginTransaction(connection, settings);
  }

  commitTransaction(connection: DatabaseConnection) {
    return this.inner.commitTransaction(connection);
  }

  rollbackTransaction(connection: DatabaseConnection) {
    return this.inner.rollbackTransaction(connection);
  }

  async savepoint(connection: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver['savepoint']>>[2]) {
    await this.inner.savepoint?.(connection, name, compile);
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver['rollbackToSavepoint']>>[2]) {
    await this.inner.rollbackToSavepoint?.(connection, name, compile);
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver['releaseSavepoint']>>[2]) {
    await this.inner.releaseSavepoint?.(connection, name, compile);
  }

  destroy() {
    return this.inner.destroy();
  }
}

const unwrap = (connection: DatabaseConnection) => (connection instanceof ObservedConnection ? connection.inner : connection);

/** The statement's kind, from its first keyword: a bounded label (select, insert, update, delete, begin…, other). */
export function operationOf(sql: string): string {
  const keyword = /^\s*(?:with\b[\s\S]*?\)\s*)?([a-z]+)/i.exec(sql)?.[1]?.toLowerCase();
  return keyword !== undefined && OPERATIONS.has(keyword) ? keyword : 'other';
}

const OPERATIONS = new Set(['select', 'insert', 'update', 'delete', 'begin', 'start', 'commit', 'rollback', 'savepoint', 'release', 'listen', 'notify', 'create', 'alter', 'drop']);
