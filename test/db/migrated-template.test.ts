import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/platform/db/database.js';
import { ensureMigratedTemplate } from '../../src/platform/db/migrated-template.js';
import { migrateUp, migrationStatus } from '../../src/platform/db/migrations.js';
import { migratedTemplateDir, pgliteTemplateDir } from '../../src/platform/db/template-paths.js';

describe('migrated embedded-database template', () => {
  const dirs: string[] = [];
  const tempDir = async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rampart-migrated-template-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  it('gives a new data directory every shipped migration already applied', async () => {
    const template = await ensureMigratedTemplate();
    expect(template).toBe(migratedTemplateDir());
    const database = await openDatabase({ dataDir: await tempDir(), poolMax: 1, idleTimeoutMs: 0, connectTimeoutMs: 5_000, seedTemplate: template });
    try {
      expect((await migrateUp(database)).applied).toEqual([]);
      const status = await migrationStatus(database);
      expect(status.length).toBeGreaterThan(0);
      expect(status.every((m) => m.applied)).toBe(true);
    } finally {
      await database.close();
    }
  });

  it('is named after the migration files, so a changed or added migration never gets a stale copy', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, '0001_a.up.sql'), 'create table a (id int);');
    const first = migratedTemplateDir(dir);
    expect(migratedTemplateDir(dir)).toBe(first);
    await writeFile(path.join(dir, '0001_a.up.sql'), 'create table a (id bigint);');
    const changed = migratedTemplateDir(dir);
    await writeFile(path.join(dir, '0002_b.up.sql'), 'create table b (id int);');
    expect(new Set([first, changed, migratedTemplateDir(dir)]).size).toBe(3);
  });

  it('leaves template0 and template1 out of both templates (a first start copies 55 % fewer files), and the database still works', async () => {
    for (const template of [await ensureMigratedTemplate(), pgliteTemplateDir()]) {
      expect(existsSync(path.join(template, 'base', '4'))).toBe(false);
      expect(existsSync(path.join(template, 'base', '1'))).toBe(false);
      const database = await openDatabase({ dataDir: await tempDir(), poolMax: 1, idleTimeoutMs: 0, connectTimeoutMs: 5_000, seedTemplate: template });
      try {
        const { rows } = await sql<{ datname: string }>`select datname from pg_database order by datname`.execute(database.db);
        expect(rows.map((row) => row.datname)).toEqual(['postgres']);
        await migrateUp(database);
        expect((await migrationStatus(database)).every((m) => m.applied)).toBe(true);
      } finally {
        await database.close();
      }
    }
  });

  it('falls back to the pristine template when the migrated one is missing', async () => {
    const database = await openDatabase({ dataDir: await tempDir(), poolMax: 1, idleTimeoutMs: 0, connectTimeoutMs: 5_000, seedTemplate: path.join(os.tmpdir(), 'no-such-template') });
    try {
      expect((await migrateUp(database)).applied.length).toBeGreaterThan(0);
    } finally {
      await database.close();
    }
  });
});
