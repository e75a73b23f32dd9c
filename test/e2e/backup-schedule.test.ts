import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseTargets, type DatabaseTarget } from '../support/databases.js';
import { backupEnv, seedLedger } from '../support/backup-fixtures.js';
import { seriesValue } from '../support/metrics-text.js';
import { startFakeS3, type FakeS3 } from '../support/fake-s3.js';
import { postgresBinDir, startPrivatePostgres } from '../support/private-postgres.js';
import { startRampart, type RampartProcess } from '../support/rampart-process.js';

const SLOW = 240_000;
const [pglite, postgres] = databaseTargets();

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

describe('scheduled backups and drills (worker, PostgreSQL)', () => {
  let target: DatabaseTarget;
  let rampart: RampartProcess | undefined;
  const backups = () => readdirSync(join(target.dataDir, 'backups')).sort();

  beforeAll(async () => {
    if (!postgres!.available) return;
    target = await postgres!.create();
    await seedLedger(target, 300);
  }, SLOW);
  afterAll(async () => {
    await rampart?.stop();
    await target?.cleanup();
  });

  it('the worker backs up and drills on schedule, one at a time; metrics and /readiness report it', async (ctx) => {
    ctx.skip(!postgres!.available, postgres!.skipReason);
    // Every second drill tick falls on a backup tick: one of the two waits for the other.
    rampart = await startRampart({
      args: ['serve', '--with-worker'],
      env: { ...backupEnv(target), LOG_LEVEL: 'info', BACKUP_SCHEDULE: '*/6 * * * * *', BACKUP_VERIFY_SCHEDULE: '*/3 * * * * *', BACKUP_PRUNE_SCHEDULE: 'off' },
    });
    try {
      const logs = rampart.logs;
      const waited = await until('a run that waited for the other', () => logs.find((l) => String(l.msg).startsWith('waiting for the running ')));
      const passedAfterWaiting = () => logs.filter((l) => l.msg === 'restore drill passed' && Date.parse(String(l.time)) > Date.parse(String(waited.time)));
      const completedAfterWaiting = () => logs.filter((l) => l.msg === 'backup complete' && Date.parse(String(l.time)) > Date.parse(String(waited.time)));
      // The waiting one ran afterwards rather than being dropped: a drill and a backup both finished since.
      await until('a drill and a backup after the wait', () => (passedAfterWaiting().length > 0 && completedAfterWaiting().length > 0 ? true : undefined));
      const report = backups().find((f) => f.endsWith('.verify.json'))!;
      expect(JSON.parse(readFileSync(join(target.dataDir, 'backups', report), 'utf8'))).toMatchObject({ ok: true });
      const metadata = JSON.parse(readFileSync(join(target.dataDir, 'backups', report.replace('.verify.json', '.json')), 'utf8'));
      expect(metadata).toMatchObject({ label: 'scheduled' });

      // Backups and drills share one lease: the work they did (timed inside it) never overlaps.
      const runs = logs
        .filter((l) => l.msg === 'backup complete' || l.msg === 'restore drill passed')
        .map((l) => ({ end: Date.parse(String(l.time)), start: Date.parse(String(l.time)) - Number(l.duration_ms) }))
        .sort((a, b) => a.start - b.start);
      expect(runs.length).toBeGreaterThanOrEqual(2);
      for (let i = 1; i < runs.length; i++) expect(runs[i]!.start).toBeGreaterThanOrEqual(runs[i - 1]!.end);
      expect(logs.some((l) => l.level === 'error' || (typeof l.level === 'number' && l.level >= 50))).toBe(false);

      const metrics = await (await fetch(rampart.metricsUrl)).text();
      expect(seriesValue(metrics, 'backup_last_success_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 300);
      expect(seriesValue(metrics, 'backup_verify_last_success_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 300);
      expect(seriesValue(metrics, 'backup_last_size_bytes')).toBeGreaterThan(0);
      expect(seriesValue(metrics, 'backup_duration_seconds')).toBeGreaterThan(0);
      expect(seriesValue(metrics, 'backup_failures_total{operation="create"}')).toBe(0);

      const readiness = (await rampart.request('/readiness')).json<{ status: string; backups: { ok: boolean; details: string } }>();
      expect(readiness.backups).toMatchObject({ configured: true, ok: true, details: expect.stringMatching(/^ok: last_backup_age_s=\d+ last_drill_age_s=\d+$/) });
    } finally {
      await rampart.stop();
      rampart = undefined;
    }
  }, SLOW);

  it('/readiness turns degraded (200, not 503) when the last backup is overdue', async (ctx) => {
    ctx.skip(!postgres!.available, postgres!.skipReason);
    for (const name of backups().filter((f) => /^\d{8}T\d{6}Z-[0-9a-f]{6}\.json$/.test(f))) {
      const file = join(target.dataDir, 'backups', name);
      const metadata = JSON.parse(readFileSync(file, 'utf8'));
      writeFileSync(file, JSON.stringify({ ...metadata, createdAt: new Date(Date.now() - 3 * 3_600_000).toISOString() }));
    }
    rampart = await startRampart({ args: ['serve'], env: { ...backupEnv(target), LOG_LEVEL: 'info', BACKUP_MAX_AGE_S: '7200' } });
    const res = await rampart.request('/readiness');
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ status: 'degraded', backups: { ok: false, details: expect.stringContaining('last backup overdue (older than 7200 s)') } });
    await rampart.stop();
    rampart = undefined;
  }, SLOW);
});

describe('scheduled backups to S3 that is unavailable', () => {
  let target: DatabaseTarget;
  let s3: FakeS3;
  let rampart: RampartProcess | undefined;

  beforeAll(async () => {
    if (!postgres!.available) return;
    target = await postgres!.create();
    await seedLedger(target, 100);
    s3 = await startFakeS3();
  }, SLOW);
  afterAll(async () => {
    await rampart?.stop();
    await s3?.close();
    await target?.cleanup();
  });

  it('fail (counted), leave nothing listed as complete, and succeed on a retry once S3 is back', async (ctx) => {
    ctx.skip(!postgres!.available, postgres!.skipReason);
    s3.setDown(true);
    const { STORAGE_DRIVER: _driver, S3_BUCKET: _bucket, ...s3Env } = s3.env;
    rampart = await startRampart({
      args: ['serve', '--with-worker'],
      env: { ...backupEnv(target), ...s3Env, LOG_LEVEL: 'info', BACKUP_DESTINATION: `s3://${s3.bucket}/nightly`, BACKUP_SCHEDULE: '*/5 * * * * *', BACKUP_VERIFY_SCHEDULE: 'off', BACKUP_PRUNE_SCHEDULE: 'off' },
    });
    await until('a failed attempt', async () => {
      const metrics = await (await fetch(rampart!.metricsUrl)).text();
      return (seriesValue(metrics, 'backup_failures_total{operation="create"}') ?? 0) >= 1 ? true : undefined;
    });
    expect([...s3.objects.keys()].filter((k) => k.endsWith('.json'))).toEqual([]);
    s3.setDown(false);
    const key = await until('a complete backup on S3', () => [...s3.objects.keys()].find((k) => /^nightly\/\d{8}T\d{6}Z-[0-9a-f]{6}\.json$/.test(k)), 150_000);
    expect(s3.objects.get(key.replace('.json', '.pgdump.zst.age'))?.headers['x-amz-server-side-encryption']).toBe('AES256');
  }, SLOW);
});

describe.skipIf(!postgresBinDir())('a scheduled backup whose PostgreSQL restarts under it', () => {
  it('fails, the worker keeps running, and the next backup succeeds without waiting out the lease', async () => {
    const server = await startPrivatePostgres();
    // Enough rows that pg_dump runs for a moment while the backup's own connection holds its snapshot.
    await server.query("create table ledger as select g as id, repeat(md5(g::text), 8) as note from generate_series(1, 200000) g");
    const dataDir = await mkdtemp(join(tmpdir(), 'rampart-backup-restart-'));
    const worker = await startRampart({
      args: ['worker'],
      env: { RAMPART_DATA_DIR: dataDir, DATABASE_URL: server.url, LOG_LEVEL: 'info', DATABASE_CONNECT_TIMEOUT_MS: '1000', BACKUP_SCHEDULE: '*/2 * * * * *', BACKUP_VERIFY_SCHEDULE: 'off', BACKUP_PRUNE_SCHEDULE: 'off' },
      expectExit: true,
    });
    try {
      await until('the backup holding its snapshot', async () => ((await server.query("select 1 from pg_stat_activity where application_name = 'rampart-backup'")).rowCount ? true : undefined), 60_000);
      await server.stop();
      const completedBefore = worker.logs.filter((l) => l.msg === 'backup complete').length;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await server.start();
      expect(worker.child.exitCode).toBeNull();
      // Sooner than the failed run's 60 s lease would expire: it is released once the database is back.
      await until('a backup after the restart', () => (worker.logs.filter((l) => l.msg === 'backup complete').length > completedBefore ? true : undefined), 45_000);
      expect(worker.child.exitCode).toBeNull();
      expect(await worker.stop()).toBe(0);
    } finally {
      await worker.stop('SIGKILL');
      await server.destroy();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, SLOW);
});

describe('scheduled backups on the embedded database', () => {
  it('are off, and /readiness says why and what to do (not degraded)', async (ctx) => {
    ctx.skip(!pglite!.available, pglite!.skipReason);
    const rampart = await startRampart({ args: ['serve', '--with-worker'] });
    try {
      const body = (await rampart.request('/readiness')).json();
      expect(body).toMatchObject({ status: 'ok', backups: { configured: false, ok: true, details: expect.stringContaining('stop it and run `rampart backup`') } });
    } finally {
      await rampart.stop();
    }
  }, SLOW);
});
