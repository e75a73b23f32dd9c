import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/platform/db/database.js';
import { runEmbeddedDatabasesOn, startEarlyPGliteThread } from '../../src/platform/db/pglite-thread-client.js';
import { ensureMigratedTemplate } from '../../src/platform/db/migrated-template.js';
import { migratedTemplateDir } from '../../src/platform/db/template-paths.js';

// The thread's script is the one the bundle builds (npm test builds first), as `npm start` runs it.
const THREAD_SCRIPT = path.resolve('dist/pglite-thread.mjs');
const COMPILED = path.resolve('dist/src/platform/db');

describe('embedded PGlite on its own thread', () => {
  const dirs: string[] = [];
  const tempDir = async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rampart-pglite-thread-'));
    dirs.push(dir);
    return dir;
  };
  const open = async (dataDir: string, seedTemplate?: string) => openDatabase({ dataDir, seedTemplate, poolMax: 1, idleTimeoutMs: 0, connectTimeoutMs: 5_000 });

  beforeAll(async () => {
    expect(existsSync(THREAD_SCRIPT)).toBe(true);
    runEmbeddedDatabasesOn(pathToFileURL(THREAD_SCRIPT));
    await ensureMigratedTemplate();
  }, 120_000);
  afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  it('answers queries with their types intact, keeps PostgreSQL error fields, and runs transactions', async () => {
    const database = await open(await tempDir());
    try {
      await sql`create table things (id int primary key, body bytea, at timestamptz, doc jsonb)`.execute(database.db);
      const at = new Date('2026-12-02T08:00:00.123Z');
      await sql`insert into things values (${1}, ${Buffer.from([0, 1, 255])}, ${at}, ${JSON.stringify({ a: [1, 'two'] })})`.execute(database.db);
      const { rows } = await sql<{ id: number; body: Uint8Array; at: Date; doc: unknown }>`select * from things`.execute(database.db);
      expect(rows).toHaveLength(1);
      expect(rows[0]!.body).toBeInstanceOf(Uint8Array);
      expect([...rows[0]!.body]).toEqual([0, 1, 255]);
      expect(rows[0]!.at).toBeInstanceOf(Date);
      expect(rows[0]!.at.getTime()).toBe(at.getTime());
      expect(rows[0]!.doc).toEqual({ a: [1, 'two'] });

      const duplicate = await sql`insert into things (id) values (${1})`.execute(database.db).catch((error: unknown) => error);
      expect(duplicate).toBeInstanceOf(Error);
      expect(duplicate).toMatchObject({ code: '23505', constraint: 'things_pkey' });
      expect((duplicate as Error).message).toMatch(/duplicate key/);

      await expect(
        database.db.transaction().execute(async (trx) => {
          await sql`insert into things (id) values (${2})`.execute(trx);
          throw new Error('roll it back');
        }),
      ).rejects.toThrow('roll it back');
      const count = await sql<{ n: number }>`select count(*)::int as n from things`.execute(database.db);
      expect(count.rows[0]!.n).toBe(1);
      // Several statements in one go (the simple protocol), as migration scripts are sent.
      await sql.raw('insert into things (id) values (3); insert into things (id) values (4)').execute(database.db);
      expect((await sql<{ n: number }>`select count(*)::int as n from things`.execute(database.db)).rows[0]!.n).toBe(3);
    } finally {
      await database.close();
    }
  }, 60_000);

  it('leaves the calling thread free while a query runs', async () => {
    const database = await open(await tempDir());
    try {
      let ticks = 0;
      const timer = setInterval(() => (ticks += 1), 10);
      // In-process, PGlite's WASM holds the thread for the whole statement: no tick at all.
      await sql`select pg_sleep(0.5)`.execute(database.db);
      clearInterval(timer);
      expect(ticks).toBeGreaterThan(10);
    } finally {
      await database.close();
    }
  }, 60_000);

  it('delivers notifications until unlistened', async () => {
    const database = await open(await tempDir());
    try {
      const received: string[] = [];
      const unlisten = await database.listen('jobs', (payload) => received.push(payload));
      await sql`select pg_notify('jobs', 'first')`.execute(database.db);
      await expect.poll(() => received).toEqual(['first']);
      await unlisten();
      await sql`select pg_notify('jobs', 'second')`.execute(database.db);
      await sql`select 1`.execute(database.db);
      expect(received).toEqual(['first']);
    } finally {
      await database.close();
    }
  }, 60_000);

  it('gives up the data directory on close, and the data is there when reopened', async () => {
    const dataDir = await tempDir();
    const first = await open(dataDir);
    await sql`create table kept (v text)`.execute(first.db);
    await sql`insert into kept values ('still here')`.execute(first.db);
    expect(existsSync(path.join(dataDir, 'pglite.lock'))).toBe(true);
    await first.close();
    expect(existsSync(path.join(dataDir, 'pglite.lock'))).toBe(false);
    await expect(sql`select 1`.execute(first.db)).rejects.toThrow();
    const second = await open(dataDir);
    try {
      expect((await sql<{ v: string }>`select v from kept`.execute(second.db)).rows).toEqual([{ v: 'still here' }]);
    } finally {
      await second.close();
    }
  }, 60_000);

  it('reports a data directory held by another live process, naming it', async () => {
    const dataDir = await tempDir();
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      await writeFile(path.join(dataDir, 'pglite.lock'), String(holder.pid));
      await expect(open(dataDir)).rejects.toThrow(`is in use by process ${holder.pid}`);
      expect(existsSync(path.join(dataDir, 'pglite'))).toBe(false);
    } finally {
      holder.kill();
    }
  }, 60_000);

  it('the launcher opens the default database before it is asked, and the start claims that thread', async () => {
    const dataDir = await tempDir();
    const early = startEarlyPGliteThread(['serve', '--with-worker'], { RAMPART_DATA_DIR: dataDir });
    expect(early).toBeDefined();
    const database = await open(dataDir, migratedTemplateDir());
    try {
      // The migrated template was copied: the claimed thread seeded it as configured.
      expect((await sql<{ n: number }>`select count(*)::int as n from kysely_migration`.execute(database.db)).rows[0]!.n).toBeGreaterThan(0);
      expect(early!.closed).toBe(false);
    } finally {
      await database.close();
    }
    expect(early!.closed).toBe(true);
  }, 60_000);

  it('closes a thread that guessed another data directory, and opens the one asked for', async () => {
    const guessed = await tempDir();
    const wanted = await tempDir();
    const early = startEarlyPGliteThread(['worker'], { RAMPART_DATA_DIR: guessed });
    const database = await open(wanted, migratedTemplateDir());
    try {
      expect(early!.closed).toBe(true);
      expect(existsSync(path.join(guessed, 'pglite.lock'))).toBe(false);
      expect(existsSync(path.join(wanted, 'pglite.lock'))).toBe(true);
      await sql`select 1`.execute(database.db);
    } finally {
      await database.close();
    }
  }, 60_000);

  it('starts no early thread for other commands or settings that change what would be opened', () => {
    const cases: Array<[string[], NodeJS.ProcessEnv]> = [
      [['migrate', 'up'], {}],
      [['--help'], {}],
      [['serve'], { DATABASE_URL: 'postgres://db.example/app' }],
      [['serve'], { RAMPART_ENV: 'production' }],
      [['serve'], { MIGRATE_ON_START: 'false' }],
    ];
    for (const [args, env] of cases) expect(startEarlyPGliteThread(args, { ...env, RAMPART_DATA_DIR: '/nonexistent/never' })).toBeUndefined();
  });

  it('keeps a process alive while it awaits an answer, and never once it stops asking', async () => {
    const dataDir = await tempDir();
    const modules = { client: pathToFileURL(path.join(COMPILED, 'pglite-thread-client.js')).href, database: pathToFileURL(path.join(COMPILED, 'database.js')).href };
    const script = `
      const { runEmbeddedDatabasesOn, startEarlyPGliteThread } = await import(${JSON.stringify(modules.client)});
      const { openDatabase } = await import(${JSON.stringify(modules.database)});
      runEmbeddedDatabasesOn(new URL(${JSON.stringify(pathToFileURL(THREAD_SCRIPT).href)}));
      if (process.argv[1] === 'query') {
        const database = await openDatabase({ dataDir: ${JSON.stringify(dataDir)}, poolMax: 1, idleTimeoutMs: 0, connectTimeoutMs: 5000 });
        const [row] = await database.db.selectNoFrom((eb) => eb.val(41).as("answer")).execute();
        console.log("answer", Number(row.answer) + 1);
        await database.close();
      } else {
        startEarlyPGliteThread(['serve'], { RAMPART_DATA_DIR: ${JSON.stringify(dataDir)} });
      }`;
    const run = (mode: string) => promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, mode], { timeout: 30_000 });
    expect((await run('query')).stdout).toContain('answer 42');
    // An early thread nobody claims (a configuration error, say) does not hold the process open.
    await expect(run('unclaimed')).resolves.toBeDefined();
  }, 90_000);
});
