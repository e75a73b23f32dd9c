import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach } from 'vitest';
import { ensurePGliteTemplate, seedFromTemplate } from '../../src/platform/db/pglite-template.js';
import { openDatabase, type DatabaseHandle, type DatabaseOptions } from '../../src/platform/db/database.js';
import { pgliteDir } from '../../src/platform/db/template-paths.js';


export interface DatabaseTarget {
  name: 'pglite' | 'postgres';
  url?: string;
  dataDir: string;
  cleanup(): Promise<void>;
}

export interface DatabaseTargetFactory {
  name: 'pglite' | 'postgres';
  available: boolean;
  /** Why the target is unavailable; pass to `ctx.skip(!available, skipReason)`. */
  skipReason?: string;
  create(): Promise<DatabaseTarget>;
}

export const NO_POSTGRES = 'skipped: no Postgres';

/**
 * Returns [pglite, postgres]. Postgres target creates a fresh database (rampart_test_<random>)
 * on TEST_DATABASE_URL and drops it in cleanup().
 *
 * Without TEST_DATABASE_URL the postgres target is unavailable (tests skip with
 * "skipped: no Postgres"), except in CI, where this throws so the run fails instead of
 * silently testing half the matrix.
 */
export function databaseTargets(): DatabaseTargetFactory[] {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl && process.env.CI === 'true') throw new Error('TEST_DATABASE_URL is required in CI');
  return [
    { name: 'pglite', available: true, create: createPGliteTarget },
    adminUrl
      ? { name: 'postgres', available: true, create: () => createPostgresTarget(adminUrl) }
      : { name: 'postgres', available: false, skipReason: NO_POSTGRES, create: () => Promise.reject(new Error(NO_POSTGRES)) },
  ];
}

export interface FreshDatabase {
  readonly target: DatabaseTarget;
  readonly handle: DatabaseHandle;
}

/**
 * Gives every test in the surrounding describe its own empty database on `target`, opened
 * with `openDatabase`, and skips the tests when the target is unavailable.
 */
export function freshDatabasePerTest(
  factory: DatabaseTargetFactory,
  options: Partial<Omit<DatabaseOptions, 'url' | 'dataDir'>> = {},
): FreshDatabase {
  let current: { target: DatabaseTarget; handle?: DatabaseHandle } | undefined;
  beforeEach(async (ctx) => {
    ctx.skip(!factory.available, factory.skipReason);
    const target = await factory.create();
    current = { target };
    current.handle = await openDatabase({ ...testDatabaseOptions(target), ...options });
  });
  afterEach(async () => {
    const done = current;
    current = undefined;
    await done?.handle?.close();
    await done?.target.cleanup();
  });
  return {
    get target() {
      if (!current) throw new Error('the fresh database exists only while a test runs');
      return current.target;
    },
    get handle() {
      if (!current?.handle) throw new Error('the fresh database exists only while a test runs');
      return current.handle;
    },
  };
}

/** Options for `openDatabase` on a target, with timeouts short enough for tests. */
export function testDatabaseOptions(target: DatabaseTarget): DatabaseOptions {
  return { url: target.url, dataDir: target.dataDir, poolMax: 4, idleTimeoutMs: 10_000, connectTimeoutMs: 2_000 };
}

/** An empty PGlite database in its own temp dir (what the `pglite` target creates). */
export async function createPGliteTarget(): Promise<DatabaseTarget> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'rampart-test-'));
  // A new PGlite cluster takes seconds to initialise; copying a pristine one takes a fraction.
  await ensurePGliteTemplate();
  await seedFromTemplate(pgliteDir(dataDir));
  return { name: 'pglite', dataDir, cleanup: () => rm(dataDir, { recursive: true, force: true }) };
}

async function createPostgresTarget(adminUrl: string): Promise<DatabaseTarget> {
  const database = `rampart_test_${randomBytes(6).toString('hex')}`;
  await asAdmin(adminUrl, `create database ${database}`);
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'rampart-test-'));
  return {
    name: 'postgres',
    url: url.toString(),
    dataDir,
    async cleanup() {
      // `with (force)` ends connections a failed test left open, which would block the drop.
      await asAdmin(adminUrl, `drop database if exists ${database} with (force)`);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function asAdmin(adminUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
