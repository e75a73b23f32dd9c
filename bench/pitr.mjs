// Point-in-time recovery's RPO: on a throwaway cluster set up by `rampart backup pitr-config`
// (archive_timeout 60 s, pgBackRest repository in a temp dir), one small insert a second for
// BENCH_PITR_SECONDS; each commit's delay is the server time its WAL segment was archived
// (pg_stat_archiver.last_archived_time) minus the server time it committed. The worst delay is
// the data a crash at the worst moment would lose. See bench/README.md.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { ROOT, RAMPART_CLI, freePort, makeTempDir, median, removeTempDir, sleep } from './lib.mjs';
import { busyMachineNote, mdTable, percentile, positiveNumber, table } from './measure.mjs';

const run = promisify(execFile);
const SECONDS = positiveNumber('BENCH_PITR_SECONDS', 180);
const ARCHIVE_TIMEOUT_S = 60;
const BIN = process.env.PG_BIN_DIR ?? '/usr/lib/postgresql/15/bin';
const root = process.getuid?.() === 0;
const asPostgres = (command, args) => (root ? run('runuser', ['-u', 'postgres', '--', command, ...args]) : run(command, args));

const dir = makeTempDir('rampart-bench-pitr-');
const dataDir = path.join(dir, 'data');
const confDir = path.join(dir, 'conf');
const conf = path.join(confDir, 'pgbackrest.conf');
if (root) {
  const ids = (flag) => Number(fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:')).split(':')[flag]);
  fs.chownSync(dir, ids(2), ids(3));
}
const port = await freePort();
const pgCtl = (...args) => asPostgres(path.join(BIN, 'pg_ctl'), ['-D', dataDir, ...args]);
try {
  await asPostgres(path.join(BIN, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync']);
  for (const sub of ['repo', 'lock', 'log']) await asPostgres('mkdir', [path.join(dir, sub)]);
  const written = await run(process.execPath, [RAMPART_CLI, 'backup', 'pitr-config', '--repo', path.join(dir, 'repo'), '--stanza', 'bench', '--pg-path', dataDir, '--write', confDir], {
    env: { PATH: process.env.PATH, RAMPART_DATA_DIR: path.join(dir, 'rampart'), BACKUP_PITR_CIPHER_PASS: 'bench-only-passphrase', LOG_LEVEL: 'warn' },
  });
  if (!written.stdout.includes(`archive_timeout = ${ARCHIVE_TIMEOUT_S}`)) throw new Error('pitr-config did not set archive_timeout = 60');
  fs.writeFileSync(conf, fs.readFileSync(conf, 'utf8')
    .replace('[global]\n', `[global]\nlock-path=${path.join(dir, 'lock')}\nlog-path=${path.join(dir, 'log')}\n`)
    .replace('[bench]\n', `[bench]\npg1-port=${port}\npg1-socket-path=${dir}\n`));
  fs.appendFileSync(path.join(dataDir, 'postgresql.conf'), `port = ${port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${dir}'\n${fs.readFileSync(path.join(confDir, 'postgresql.pitr.conf'), 'utf8')}`);
  await pgCtl('-l', path.join(dir, 'server.log'), '-w', 'start');
  await asPostgres('pgbackrest', [`--config=${conf}`, '--stanza=bench', 'stanza-create']);
  await asPostgres('pgbackrest', [`--config=${conf}`, '--stanza=bench', 'check']);
  // As the operator's steps say. Its checkpoint (start-fast) matters: PostgreSQL 15 measured no
  // archive_timeout switch after a start until the checkpointer's first checkpoint.
  await asPostgres('pgbackrest', [`--config=${conf}`, '--stanza=bench', 'backup', '--type=full']);

  const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
  const watcher = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
  await client.connect();
  await watcher.connect();
  await client.query('create table ticks (id serial primary key, at timestamptz not null default clock_timestamp())');
  const commits = [];
  const archived = new Map(); // segment → archive time (ms)
  let watching = true;
  const watch = (async () => {
    while (watching) {
      const { rows: [row] } = await watcher.query('select last_archived_wal as wal, extract(epoch from last_archived_time) * 1000 as at from pg_stat_archiver');
      if (row.wal && !archived.has(row.wal)) archived.set(row.wal, Number(row.at));
      await sleep(200);
    }
  })();
  console.log(`pitr: one insert a second for ${SECONDS} s, archive_timeout = ${ARCHIVE_TIMEOUT_S} s`);
  for (const end = Date.now() + SECONDS * 1000; Date.now() < end; ) {
    await client.query('insert into ticks default values');
    const { rows: [row] } = await client.query('select pg_walfile_name(pg_current_wal_insert_lsn()) as wal, extract(epoch from clock_timestamp()) * 1000 as at');
    commits.push({ wal: row.wal, at: Number(row.at) });
    await sleep(1000);
  }
  const last = commits.at(-1).wal;
  for (const end = Date.now() + (ARCHIVE_TIMEOUT_S + 30) * 1000; ![...archived.keys()].some((w) => w >= last) && Date.now() < end; ) await sleep(500);
  watching = false;
  await watch;
  await client.end();
  await watcher.end();

  const segments = [...archived.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  const delays = commits.map((c) => {
    const hit = segments.find(([wal]) => wal >= c.wal);
    return hit ? (hit[1] - c.at) / 1000 : Number.NaN;
  }).filter((d) => Number.isFinite(d));
  if (delays.length === 0) throw new Error(`no commit reached the archive: commits ${JSON.stringify(commits.slice(0, 3))}…, archived ${JSON.stringify([...archived])}`);
  const worst = Math.max(...delays);
  const rows = [[String(delays.length), median(delays).toFixed(1), percentile(delays, 90).toFixed(1), worst.toFixed(1), String(segments.length), worst <= ARCHIVE_TIMEOUT_S + 5 ? 'PASS' : 'FAIL']];
  const headers = ['commits', 'median s', 'p90 s', 'max s', 'segments archived', `max ≤ ${ARCHIVE_TIMEOUT_S} s + 5 s`];
  console.log(table(headers, rows));
  const { note } = await busyMachineNote();
  const out = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'pitr-latest.md'), [
    '# Point-in-time recovery: RPO (commit → WAL segment archived by pgBackRest)',
    '',
    `${new Date().toISOString()}; archive_timeout = ${ARCHIVE_TIMEOUT_S} s; one insert a second for ${SECONDS} s; delay = pg_stat_archiver.last_archived_time of the commit's segment − its commit time (server clock).`,
    '',
    mdTable(headers, rows),
    note ? `\n${note}` : '',
  ].join('\n'));
  console.log('\nwrote bench/results/pitr-latest.md');
} finally {
  await pgCtl('-m', 'immediate', '-w', 'stop').catch(() => undefined);
  removeTempDir(dir);
}
