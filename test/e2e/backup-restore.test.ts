import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generateX25519Identity } from 'age-encryption';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseTargets, type DatabaseTarget } from '../support/databases.js';
import { backupFiles, backupsDir, cli, metadataOf, onDatabase, onlyBackupId, seedLedger, URL_PASSWORD } from '../support/backup-fixtures.js';
import { startPrivatePostgres } from '../support/private-postgres.js';
import { repoRoot, runCli } from '../support/rampart-process.js';

const run = promisify(execFile);
const ROWS = 1_500;
const SLOW = 180_000;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
/** The newest shipped migration: what a migrated database records. */
const LAST_MIGRATION = readdirSync(join(repoRoot, 'migrations')).filter((f) => f.endsWith('.up.sql')).sort().at(-1)!.replace('.up.sql', '');
const noStackTrace = (stderr: string) => expect(stderr).not.toMatch(/^\s+at /m);

/** The emergency restore of the README, as written there (the line holding `marker`). */
function readmeCommand(marker: string): string {
  const line = readFileSync(join(repoRoot, 'README.md'), 'utf8').split('\n').find((l) => l.includes(marker));
  if (!line) throw new Error(`README has no line with ${marker}`);
  return line.trim();
}

async function adminQuery(text: string): Promise<Array<Record<string, unknown>>> {
  const client = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

describe.each(databaseTargets())('backups on $name', (factory) => {
  let target: DatabaseTarget;
  let id: string;
  let dataFile: string;

  beforeAll(async () => {
    if (!factory.available) return;
    target = await factory.create();
    await seedLedger(target, ROWS);
  }, SLOW);
  afterAll(async () => {
    if (!target) return;
    if (target.url) {
      const name = new URL(target.url).pathname.slice(1);
      for (const row of await adminQuery(`select datname from pg_database where datname like '${name}_before_restore_%' or datname like '${name}_restore_%'`)) {
        await adminQuery(`drop database if exists "${String(row.datname)}" with (force)`);
      }
    }
    await target.cleanup();
  }, SLOW);

  it('`rampart backup` writes an age-encrypted file and its metadata, checksum verified, no secret anywhere', async (ctx) => {
    ctx.skip(!factory.available, factory.skipReason);
    const result = await cli(target, ['backup']);
    expect(result.code, result.stderr).toBe(0);
    id = onlyBackupId(target);
    const metadata = metadataOf(target, id);
    dataFile = join(backupsDir(target), metadata.file);
    expect(result.stdout).toContain(`backup ${id} complete`);
    const bytes = readFileSync(dataFile);
    expect(bytes.subarray(0, 21).toString()).toBe('age-encryption.org/v1');
    expect(bytes.includes(Buffer.from('café'))).toBe(false);
    expect(result.stdout).toContain(sha256(bytes));
    expect(metadata).toMatchObject({ id, label: 'manual', migration: LAST_MIGRATION, sha256: sha256(bytes), source: target.name, compression: 'zstd' });
    expect(metadata.tables['public.ledger']).toMatchObject({ rows: ROWS });
    expect(Object.keys(metadata.tables).length).toBeGreaterThan(10);
    expect(backupFiles(target).some((f) => f.startsWith('.partial-'))).toBe(false);
    for (const text of [result.stdout, result.stderr, readFileSync(join(backupsDir(target), `${id}.json`), 'utf8')]) {
      expect(text).not.toContain(URL_PASSWORD);
      expect(text).not.toContain('AGE-SECRET-KEY');
    }
  }, SLOW);

  it('`rampart backup list` shows it; `rampart backup verify` restores it into a scratch database and writes the report', async (ctx) => {
    ctx.skip(!factory.available, factory.skipReason);
    const before = await cli(target, ['backup', 'list', '--json']);
    expect(before.code, before.stderr).toBe(0);
    expect(JSON.parse(before.stdout).backups).toEqual([expect.objectContaining({ id, label: 'manual', tier: 'manual', verified: 'never' })]);

    const verified = await cli(target, ['backup', 'verify', 'latest']);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(new RegExp(`restore drill of ${id} passed: \\d+ tables match`));
    const report = JSON.parse(readFileSync(join(backupsDir(target), `${id}.verify.json`), 'utf8'));
    expect(report).toMatchObject({ id, ok: true, migrations: { expected: LAST_MIGRATION, restored: LAST_MIGRATION, ok: true }, tables: { differences: [] } });
    expect(readFileSync(join(backupsDir(target), `${id}.verify.md`), 'utf8')).toMatch(/\| public\.ledger \| 1500 \| 1500 \| same \|/);
    const after = await cli(target, ['backup', 'list', '--json']);
    expect(JSON.parse(after.stdout).backups[0].verified).toBe('passed');
    if (target.url) {
      const scratch = await adminQuery("select datname from pg_database where datname like 'rampart_drill_%'");
      // This drill's own scratch database; another test's scheduled drill may be running today.
      expect(scratch.filter((r) => String(r.datname).startsWith(`rampart_drill_${id.toLowerCase().replace(/[^a-z0-9]/g, '')}_`))).toEqual([]);
    }
  }, SLOW);

  it('the README\'s emergency restore (age | zstd | pg_restore or psql) works without Rampart', async (ctx) => {
    ctx.skip(!process.env.TEST_DATABASE_URL, 'skipped: no Postgres');
    const database = `rampart_emergency_${randomBytes(4).toString('hex')}`;
    await adminQuery(`create database ${database}`);
    try {
      const url = new URL(process.env.TEST_DATABASE_URL!);
      url.pathname = `/${database}`;
      const marker = target.name === 'postgres' ? 'age -d -i key.txt BACKUP.pgdump.zst.age' : 'age -d -i key.txt BACKUP.sql.zst.age';
      const command = readmeCommand(marker).replace('key.txt', join(target.dataDir, 'backup-age-key.txt')).replace(/BACKUP\.\w+\.zst\.age/, dataFile);
      await run('bash', ['-o', 'pipefail', '-c', command], { env: { ...process.env, TARGET_URL: url.toString() } });
      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      try {
        expect((await client.query('select count(*)::int as n, sum(amount)::text as total from ledger')).rows[0]).toEqual({ n: ROWS, total: ((ROWS * (ROWS + 1) / 2) * 1.25).toFixed(2) });
      } finally {
        await client.end();
      }
    } finally {
      await adminQuery(`drop database if exists ${database} with (force)`);
    }
  }, SLOW);

  it('verify with the wrong key says "cannot decrypt with this identity", without a stack trace or the key', async (ctx) => {
    ctx.skip(!factory.available, factory.skipReason);
    const wrong = await generateX25519Identity();
    const result = await cli(target, ['backup', 'verify', id], { BACKUP_IDENTITY: wrong });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('cannot decrypt with this identity');
    expect(result.stderr).not.toContain(wrong);
    noStackTrace(result.stderr);
  }, SLOW);

  it.each([
    ['truncated', (bytes: Buffer) => bytes.subarray(0, bytes.length - 100)],
    ['bit-flipped', (bytes: Buffer) => Buffer.from(bytes.map((b, i) => (i === Math.floor(bytes.length / 2) ? b ^ 0x04 : b)))],
  ])('a %s backup fails verify and restore with a checksum failure naming the file', async (_kind, damage) => {
    if (!factory.available) return;
    const original = readFileSync(dataFile);
    writeFileSync(dataFile, damage(original));
    try {
      for (const args of [['backup', 'verify', id], ['restore', id, '--force']]) {
        const result = await cli(target, args);
        expect(result.code).toBe(1);
        expect(result.stderr).toContain(`checksum mismatch: ${dataFile}`);
        noStackTrace(result.stderr);
      }
    } finally {
      writeFileSync(dataFile, original);
    }
  }, SLOW);

  it('`rampart restore` refuses a non-empty target without --force, then with --force brings every row back', async (ctx) => {
    ctx.skip(!factory.available, factory.skipReason);
    const refused = await cli(target, ['restore', 'latest']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/is not empty \(\d+ tables, \d+ rows\): pass --force/);

    await onDatabase(target, (q) => q('delete from ledger where id > 100'));
    const restored = await cli(target, ['restore', 'latest', '--force']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain(`restored ${id}`);
    expect(restored.stdout).toMatch(/previous contents were kept as \S+/);
    expect(await onDatabase(target, (q) => q('select count(*)::int as n from ledger'))).toEqual([{ n: ROWS }]);
  }, SLOW);

  it('`rampart restore` stops while the application is connected, saying how to stop it, and changes nothing', async (ctx) => {
    ctx.skip(!factory.available, factory.skipReason);
    if (target.url) {
      const app = new pg.Client({ connectionString: target.url, application_name: 'rampart-serve' });
      await app.connect();
      try {
        const result = await cli(target, ['restore', 'latest', '--force']);
        expect(result.code).toBe(3);
        expect(result.stderr).toMatch(/is in use: 1 other session\(s\) \(rampart-serve\)\. Stop `rampart serve` and `rampart worker` first/);
      } finally {
        await app.end();
      }
    } else {
      // A running `npm start` holds the data directory's lock with its live pid.
      const lock = join(target.dataDir, 'pglite.lock');
      writeFileSync(lock, String(process.pid));
      try {
        const result = await cli(target, ['restore', 'latest', '--force']);
        expect(result.code).toBe(5);
        expect(result.stderr).toContain(`is in use by a running Rampart (pid ${process.pid}); PGlite lets one process open it.`);
        expect(result.stderr).toContain('Stop that process first');
        const backup = await cli(target, ['backup']);
        expect(backup.code).toBe(5);
        expect(backup.stderr).toContain('Stop that process first');
      } finally {
        rmSync(lock, { force: true });
      }
    }
    expect(await onDatabase(target, (q) => q('select count(*)::int as n from ledger'))).toEqual([{ n: ROWS }]);
  }, SLOW);

  it('refuses to call a suspiciously empty backup successful, with both row counts; --accept-shrink takes it', async (ctx) => {
    ctx.skip(!factory.available, factory.skipReason);
    await onDatabase(target, (q) => q('delete from ledger'));
    const before = backupFiles(target);
    const refused = await cli(target, ['backup']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/the database holds (\d+) rows in \d+ tables; the previous backup \S+ held (\d+) rows/);
    const [, now, previous] = /holds (\d+) rows.*held (\d+) rows/.exec(refused.stderr)!;
    expect(Number(previous) - Number(now)).toBe(ROWS);
    expect(backupFiles(target)).toEqual(before);

    const accepted = await cli(target, ['backup', '--accept-shrink', '--json']);
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.stderr).toContain('taken anyway: --accept-shrink');
  }, SLOW);
});

describe('backup faults (PostgreSQL)', () => {
  const [, postgres] = databaseTargets();
  let target: DatabaseTarget;
  const tools = mkdtempSync(join(tmpdir(), 'rampart-fake-tools-'));

  beforeAll(async () => {
    if (!postgres!.available) return;
    target = await postgres!.create();
    await seedLedger(target, 200);
  }, SLOW);
  afterAll(async () => {
    rmSync(tools, { recursive: true, force: true });
    await target?.cleanup();
  });

  const pathWith = (name: string, script: string | undefined) => {
    const dir = mkdtempSync(join(tools, `${name}-`));
    symlinkSync('/usr/bin/zstd', join(dir, 'zstd'));
    if (script !== undefined) {
      writeFileSync(join(dir, 'pg_dump'), script);
      chmodSync(join(dir, 'pg_dump'), 0o755);
    }
    return dir;
  };

  it('a failing pg_dump fails the backup with its message, leaving nothing listed or half-written', async (ctx) => {
    ctx.skip(!postgres!.available, postgres!.skipReason);
    const path = pathWith('failing', '#!/bin/sh\nprintf "PGDMP partial bytes"\necho "pg_dump: error: query failed: simulated failure" >&2\nexit 1\n');
    const result = await cli(target, ['backup'], { PATH: path });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('pg_dump exited with 1: pg_dump: error: query failed: simulated failure');
    noStackTrace(result.stderr);
    expect(backupFiles(target)).toEqual([]);
  }, SLOW);

  it('a missing pg_dump is named, with the package that brings it', async (ctx) => {
    ctx.skip(!postgres!.available, postgres!.skipReason);
    const result = await cli(target, ['backup'], { PATH: pathWith('missing', undefined) });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('pg_dump is not installed (Debian package `postgresql-client`');
    expect(backupFiles(target)).toEqual([]);
  }, SLOW);

  it('a full disk fails cleanly and removes the partial file', async (ctx) => {
    ctx.skip(!postgres!.available, postgres!.skipReason);
    const mountPoint = mkdtempSync(join(tmpdir(), 'rampart-full-disk-'));
    // A tmpfs of two pages: the backup (tens of KiB) cannot fit. Needs root, as CI runs.
    await run('mount', ['-t', 'tmpfs', '-o', 'size=8k', 'tmpfs', mountPoint]);
    try {
      const result = await cli(target, ['backup', '--to', mountPoint]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`no space left on the device writing ${mountPoint}/\\.partial-\\S+; the partial file was removed`));
      noStackTrace(result.stderr);
      expect((await run('ls', ['-A', mountPoint])).stdout).toBe('');
    } finally {
      await run('umount', [mountPoint]);
      rmSync(mountPoint, { recursive: true, force: true });
    }
  }, SLOW);

  it('refuses to back up a database without tables (a wrong DATABASE_URL)', async (ctx) => {
    ctx.skip(!postgres!.available, postgres!.skipReason);
    const empty = await postgres!.create();
    try {
      const result = await cli(empty, ['backup']);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('the database has no tables: refusing to call it a backup');
      expect(existsSync(join(empty.dataDir, 'backups')) ? backupFiles(empty).filter((f) => f.endsWith('.json')) : []).toEqual([]);
    } finally {
      await empty.cleanup();
    }
  }, SLOW);

  it('production refuses to back up without BACKUP_RECIPIENTS and generates no key', async (ctx) => {
    ctx.skip(!postgres!.available, postgres!.skipReason);
    const production = {
      RAMPART_ENV: 'production', APP_SECRET: 'p'.repeat(40), FIELD_ENCRYPTION_KEYS: `prod1:${'k'.repeat(43)}`, API_KEY_PEPPER: 'q'.repeat(40),
      FORCE_HTTPS: 'true', DOCS_ENABLED: 'false', PUBLIC_BASE_URL: 'https://api.example.com',
    };
    const dataDir = mkdtempSync(join(tools, 'production-'));
    const result = await cli(target, ['backup'], { ...production, RAMPART_DATA_DIR: dataDir });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('BACKUP_RECIPIENTS is not set');
    expect(existsSync(join(dataDir, 'backup-age-key.txt'))).toBe(false);
  }, SLOW);

  // On a server of its own: a drill elsewhere in the suite, on the shared one, would sweep the
  // planted leftover first.
  it('a drill drops the scratch databases killed drills left over a day ago, and nothing else', async (ctx) => {
    ctx.skip(!postgres!.available, postgres!.skipReason);
    const server = await startPrivatePostgres();
    try {
      await server.query('create table ledger (id int primary key, note text)');
      await server.query("insert into ledger select g, 'row ' || g from generate_series(1, 50) g");
      const env = { RAMPART_DATA_DIR: mkdtempSync(join(tools, 'leftovers-')), DATABASE_URL: server.url, LOG_LEVEL: 'warn' };
      const backup = await runCli(['backup'], env);
      expect(backup.code, backup.stderr).toBe(0);
      // A drill killed two days ago, one that began a minute ago, and a database we did not make.
      const [old, recent, foreign] = ['rampart_drill_killed', 'rampart_drill_running', 'rampart_drill_foreign'];
      const made = (ago: number) => `rampart restore drill scratch database, created ${new Date(Date.now() - ago).toISOString()}`;
      for (const name of [old, recent, foreign]) await server.query(`create database ${name}`);
      await server.query(`comment on database ${old} is '${made(2 * 24 * 3600 * 1000)}'`);
      await server.query(`comment on database ${recent} is '${made(60 * 1000)}'`);

      const drill = await runCli(['backup', 'verify', 'latest', '--json'], env);
      expect(drill.code, drill.stderr).toBe(0);
      expect(JSON.parse(drill.stdout)).toMatchObject({ ok: true, leftoversDropped: [old] });
      // The drill's own scratch database is gone too.
      const left = (await server.query("select datname from pg_database where datname like 'rampart\\_drill\\_%' order by 1")).rows.map((r) => r.datname);
      expect(left).toEqual([foreign, recent]);
    } finally {
      await server.destroy();
    }
  }, SLOW);
});
