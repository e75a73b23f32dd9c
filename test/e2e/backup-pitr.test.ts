import { execFile } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres.js';
import { runCli } from '../support/rampart-process.js';

const run = promisify(execFile);
const SLOW = 300_000;
const PASSPHRASE = 'pitr-passphrase-never-printed-2b9c';
const noStackTrace = (stderr: string) => expect(stderr).not.toMatch(/^\s+at /m);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** pgBackRest runs as the cluster's owner: `postgres` when the tests run as root. */
const asPostgres = (args: string[]) => (process.getuid?.() === 0 ? run('runuser', ['-u', 'postgres', '--', 'pgbackrest', ...args]) : run('pgbackrest', args));

async function query(url: string, text: string): Promise<Array<Record<string, unknown>>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

async function one(url: string, text: string): Promise<Record<string, unknown>> {
  const [row] = await query(url, text);
  if (!row) throw new Error(`no row from ${text}`);
  return row;
}

describe('rampart backup pitr-config', () => {
  it('prints the encrypted stanza and archiving settings with a placeholder, never the passphrase', async () => {
    const result = await runCli(['backup', 'pitr-config', '--repo', '/srv/wal', '--stanza', 'main', '--json'], { BACKUP_PITR_CIPHER_PASS: PASSPHRASE });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout + result.stderr).not.toContain(PASSPHRASE);
    const out = JSON.parse(result.stdout) as { pgbackrest_conf: string; postgresql: Record<string, string>; steps: string[] };
    expect(out.pgbackrest_conf).toContain('repo1-path=/srv/wal');
    expect(out.pgbackrest_conf).toContain('repo1-cipher-type=aes-256-cbc');
    expect(out.pgbackrest_conf).toContain('repo1-cipher-pass=<from BACKUP_PITR_CIPHER_PASS>');
    expect(out.pgbackrest_conf).toMatch(/^repo1-retention-full=2$/m);
    expect(out.pgbackrest_conf).toMatch(/^\[main\]\npg1-path=\/var\/lib\/postgresql\/15\/main$/m);
    expect(out.postgresql).toMatchObject({ archive_mode: 'on', archive_command: "'pgbackrest --stanza=main archive-push %p'", archive_timeout: '60', wal_level: 'replica' });
    expect(out.steps.join('\n')).toMatch(/stanza-create[\s\S]*check[\s\S]*backup --type=full/);
  });

  it('sets up an S3 repository from the storage settings, with role credentials', async () => {
    const result = await runCli(['backup', 'pitr-config', '--repo', 's3://acme-wal/prod/db', '--retention-full', '4'], { S3_REGION: 'eu-west-1', S3_ENDPOINT: 'http://127.0.0.1:9000', S3_FORCE_PATH_STYLE: 'true' });
    expect(result.code, result.stderr).toBe(0);
    for (const line of ['repo1-type=s3', 'repo1-s3-bucket=acme-wal', 'repo1-path=/prod/db', 'repo1-s3-region=eu-west-1', 'repo1-s3-endpoint=127.0.0.1:9000', 'repo1-s3-uri-style=path', 'repo1-s3-key-type=auto', 'repo1-retention-full=4']) {
      expect(result.stdout).toMatch(new RegExp(`^${line.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`, 'm'));
    }
    expect(result.stderr).toContain('BACKUP_PITR_CIPHER_PASS is not set');
  });

  it('refuses bad input with exit 2 and writes nothing without the passphrase', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rampart-pitr-cfg-'));
    try {
      const noPass = await runCli(['backup', 'pitr-config', '--repo', '/srv/wal', '--write', join(dir, 'conf')]);
      expect(noPass.code).toBe(2);
      expect(noPass.stderr).toContain('BACKUP_PITR_CIPHER_PASS is not set');
      expect(() => statSync(join(dir, 'conf', 'pgbackrest.conf'))).toThrow();
      const badStanza = await runCli(['backup', 'pitr-config', '--stanza', 'no spaces']);
      expect(badStanza.code).toBe(2);
      expect(badStanza.stderr).toContain('--stanza must be');
      const relative = await runCli(['backup', 'pitr-config', '--repo', 'backups']);
      expect(relative.code).toBe(2);
      noStackTrace(noPass.stderr + badStanza.stderr + relative.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('rampart restore --to-time on a cluster archiving to pgBackRest', () => {
  let cluster: PrivatePostgres;
  let work: string;
  let confFile: string;
  const stanza = 'pitr';

  beforeAll(async () => {
    cluster = await startPrivatePostgres();
    work = mkdtempSync(join(tmpdir(), 'rampart-pitr-'));
    const owner = statSync(cluster.dataDir);
    for (const sub of ['', 'repo', 'lock', 'log']) {
      mkdirSync(join(work, sub), { recursive: true });
      chownSync(join(work, sub), owner.uid, owner.gid);
    }
    // Set up exactly as the README says: pitr-config --write, then the settings and a restart.
    const written = await runCli(['backup', 'pitr-config', '--repo', join(work, 'repo'), '--stanza', stanza, '--pg-path', cluster.dataDir, '--write', join(work, 'conf')], { BACKUP_PITR_CIPHER_PASS: PASSPHRASE });
    expect(written.code, written.stderr).toBe(0);
    expect(written.stdout).not.toContain(PASSPHRASE);
    confFile = join(work, 'conf', 'pgbackrest.conf');
    expect(statSync(confFile).mode & 0o777).toBe(0o600);
    expect(statSync(confFile).uid).toBe(owner.uid);
    const conf = readFileSync(confFile, 'utf8');
    expect(conf).toContain(`repo1-cipher-pass=${PASSPHRASE}`);
    // This test's cluster: its own port and socket, lock and log files in the temp dir.
    writeFileSync(
      confFile,
      conf
        .replace('[global]\n', `[global]\nlock-path=${join(work, 'lock')}\nlog-path=${join(work, 'log')}\n`)
        .replace(`[${stanza}]\n`, `[${stanza}]\npg1-port=${cluster.port}\npg1-socket-path=${dirname(cluster.dataDir)}\npg1-user=postgres\n`),
    );
    const settings = readFileSync(join(work, 'conf', 'postgresql.pitr.conf'), 'utf8');
    expect(settings).toContain(`archive_command = 'pgbackrest --config=${confFile} --stanza=${stanza} archive-push %p'`);
    appendFileSync(join(cluster.dataDir, 'postgresql.conf'), `${settings}archive_timeout = 2\n`);
    await cluster.stop();
    await cluster.start();
    await asPostgres([`--config=${confFile}`, `--stanza=${stanza}`, 'stanza-create']);
    await asPostgres([`--config=${confFile}`, `--stanza=${stanza}`, 'check']);
    const info = JSON.parse((await asPostgres([`--config=${confFile}`, `--stanza=${stanza}`, '--output=json', 'info'])).stdout) as Array<{ cipher: string }>;
    expect(info[0]?.cipher).toBe('aes-256-cbc');
  }, SLOW);

  afterAll(async () => {
    await cluster?.destroy();
    if (work) rmSync(work, { recursive: true, force: true });
  }, SLOW);

  it('restores exactly the rows committed before the given time; refuses a running cluster and a bad time', async () => {
    await query(cluster.url, 'create table ledger (id int primary key, batch text not null)');
    await query(cluster.url, "insert into ledger select g, 'before-backup' from generate_series(1, 100) g");
    await asPostgres([`--config=${confFile}`, `--stanza=${stanza}`, 'backup', '--type=full']);
    await query(cluster.url, "insert into ledger select g, 'after-backup' from generate_series(101, 150) g");
    await sleep(1_100);
    const { at } = await one(cluster.url, `select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as at`);
    const noted = String(at);
    await sleep(1_100);
    await query(cluster.url, "insert into ledger select g, 'too-late' from generate_series(151, 170) g");
    const { segment } = await one(cluster.url, 'select pg_walfile_name(pg_switch_wal()) as segment');
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { last } = await one(cluster.url, 'select last_archived_wal as last from pg_stat_archiver');
      if (typeof last === 'string' && last >= String(segment)) break;
      if (Date.now() > deadline) throw new Error(`WAL segment ${String(segment)} was not archived within 60 s (last ${String(last)})`);
      await sleep(250);
    }

    const restoreArgs = ['restore', '--to-time', noted, '--pg1-path', cluster.dataDir, '--stanza', stanza, '--config', confFile];
    const whileRunning = await runCli([...restoreArgs, '--delta']);
    expect(whileRunning.code).toBe(3);
    expect(whileRunning.stderr).toContain('PostgreSQL is running on');
    expect(whileRunning.stderr).toContain('Stop it first');
    expect(await query(cluster.url, 'select count(*)::int as n from ledger')).toEqual([{ n: 170 }]);

    const badTime = await runCli(['restore', '--to-time', '2026-12-05 14:03', '--pg1-path', cluster.dataDir, '--stanza', stanza, '--config', confFile]);
    expect(badTime.code).toBe(2);
    expect(badTime.stderr).toContain('is not an ISO 8601 time with a zone');
    const future = await runCli(['restore', '--to-time', '2999-01-01T00:00:00Z', '--pg1-path', cluster.dataDir, '--stanza', stanza, '--config', confFile]);
    expect(future.code).toBe(2);
    expect(future.stderr).toContain('is in the future');

    await cluster.stop();
    // Without --delta pgBackRest refuses a data directory with files in it: its reason, exit 1.
    const notEmpty = await runCli(restoreArgs);
    expect(notEmpty.code).toBe(1);
    expect(notEmpty.stderr).toMatch(/pgbackrest restore failed: ERROR: \[\d+\]: .*/);
    noStackTrace(whileRunning.stderr + badTime.stderr + future.stderr + notEmpty.stderr);

    const restored = await runCli([...restoreArgs, '--delta', '--json']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout + restored.stderr).not.toContain(PASSPHRASE);
    expect(JSON.parse(restored.stdout)).toMatchObject({ stanza, pg1_path: cluster.dataDir, target: noted.replace('T', ' ').replace('Z', '+00') });

    await cluster.start();
    const promotedBy = Date.now() + 120_000;
    while ((await one(cluster.url, 'select pg_is_in_recovery() as r')).r === true) {
      if (Date.now() > promotedBy) throw new Error('the restored cluster did not finish recovery within 120 s');
      await sleep(250);
    }
    const rows = await query(cluster.url, 'select batch, count(*)::int as n, min(id) as lo, max(id) as hi from ledger group by batch order by lo');
    expect(rows).toEqual([
      { batch: 'before-backup', n: 100, lo: 1, hi: 100 },
      { batch: 'after-backup', n: 50, lo: 101, hi: 150 },
    ]);
    // Promoted: it takes writes again.
    await query(cluster.url, "insert into ledger values (1000, 'after-restore')");
  }, SLOW);
});
