// Backup cost: `rampart backup` (pg_dump → zstd → age → SHA-256 → disk, read back) against
// `pg_dump -Fc | gzip` of the same database, interleaved; the CLI's peak memory against a
// near-empty database (RSS growth with size); and `rampart restore` time. See bench/README.md.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { ROOT, RAMPART_CLI, makeTempDir, median, sleep } from './lib.mjs';
import { busyMachineNote, fmt, mdTable, positiveNumber, table } from './measure.mjs';

const DB_MIB = positiveNumber('BENCH_BACKUP_MIB', 256);
const ROUNDS = positiveNumber('BENCH_ROUNDS', 3);
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const RATIO_TARGET = 0.9;
const RSS_TARGET_MIB = 64;

const urlOf = (database) => Object.assign(new URL(ADMIN_URL), { pathname: `/${database}` }).toString();
async function admin(statement) {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return (await client.query(statement)).rows;
  } finally {
    await client.end();
  }
}

/** Rows that look like an application's: text, numbers, timestamps, JSON; about `mib` MiB on disk. */
async function fill(database, mib) {
  const client = new pg.Client({ connectionString: urlOf(database) });
  await client.connect();
  try {
    await client.query('create table events (id bigint primary key, account text, kind text, amount numeric(14,2), at timestamptz, body jsonb, note text)');
    const batch = 100_000;
    for (let start = 0; ; start += batch) {
      await client.query(`insert into events select g, 'acct-' || (g % 5000), (array['signup','login','order','refund'])[1 + g % 4], (g % 100000) / 7.0, timestamptz '2025-01-01' + g * interval '1 second', jsonb_build_object('ip', '10.0.' || (g % 250) || '.' || (g % 200), 'ok', g % 3 = 0), md5(g::text) || ' ' || md5((g * 7)::text) from generate_series(${start + 1}, ${start + batch}) g`);
      const [{ size }] = (await client.query('select pg_database_size(current_database())::bigint as size')).rows;
      if (Number(size) >= mib * 1024 * 1024) return Number(size);
    }
  } finally {
    await client.end();
  }
}

function statusKib(pid, field) {
  try {
    const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
    return line ? Number(line.split(/\s+/)[1]) : 0;
  } catch {
    return 0;
  }
}

/** Runs a command; wall time and (for the rampart process) its peak RSS sampled every 10 ms. */
async function timed(command, args, env = {}) {
  const t0 = performance.now();
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c) => void (stderr += c));
  let peak = 0;
  let running = true;
  const sampling = (async () => {
    while (running) {
      peak = Math.max(peak, statusKib(child.pid, 'VmHWM'), statusKib(child.pid, 'VmRSS'));
      await sleep(10);
    }
  })();
  const code = await new Promise((resolve) => child.on('close', resolve));
  running = false;
  await sampling;
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`);
  return { ms: performance.now() - t0, peakMib: peak / 1024 };
}

async function main() {
  const busy = await busyMachineNote();
  const work = makeTempDir('rampart-bench-backup-');
  const big = `rampart_bench_backup_${process.pid}`;
  const tiny = `rampart_bench_tiny_${process.pid}`;
  const restored = `rampart_bench_restored_${process.pid}`;
  const created = [];
  try {
    for (const name of [big, tiny]) {
      await admin(`create database ${name}`);
      created.push(name);
    }
    const baseEnv = { RAMPART_DATA_DIR: work, LOG_LEVEL: 'warn' };
    const migrate = (db) => spawnSync(process.execPath, [RAMPART_CLI, 'migrate', 'up'], { env: { ...process.env, ...baseEnv, DATABASE_URL: urlOf(db) } });
    migrate(big);
    migrate(tiny);
    console.log(`filling ${big} to ${DB_MIB} MiB…`);
    const dbBytes = await fill(big, DB_MIB);
    const dbMib = dbBytes / 1024 / 1024;
    const rampart = (db, dest) => timed(process.execPath, [RAMPART_CLI, 'backup', '--to', dest], { ...baseEnv, DATABASE_URL: urlOf(db) });

    const tinyRun = await rampart(tiny, path.join(work, 'tiny'));
    const rows = [];
    const rounds = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const r = await rampart(big, path.join(work, `r${round}`));
      const gz = path.join(work, `dump-${round}.gz`);
      const p = await timed('bash', ['-o', 'pipefail', '-c', `pg_dump -Fc "${urlOf(big)}" | gzip > "${gz}"`]);
      rounds.push({ rampart: r, pgdump: p, gzBytes: fs.statSync(gz).size });
      rows.push([round, `${(dbMib / (r.ms / 1000)).toFixed(1)}`, `${(dbMib / (p.ms / 1000)).toFixed(1)}`, fmt.ratio(p.ms / r.ms), r.peakMib.toFixed(0)]);
      fs.rmSync(gz);
      process.stdout.write(`round ${round}: rampart ${fmt.ms(r.ms / 1000)} s, pg_dump|gzip ${fmt.ms(p.ms / 1000)} s\n`);
    }
    const ratio = median(rounds.map((r) => r.pgdump.ms / r.rampart.ms));
    const growth = median(rounds.map((r) => r.rampart.peakMib)) - tinyRun.peakMib;
    const backupFile = fs.readdirSync(path.join(work, 'r1')).find((f) => f.endsWith('.age'));
    const encryptedMib = fs.statSync(path.join(work, 'r1', backupFile)).size / 1024 / 1024;

    await admin(`create database ${restored}`);
    created.push(restored);
    const restore = await timed(process.execPath, [RAMPART_CLI, 'restore', 'latest', '--to', path.join(work, 'r1'), '--target-url', urlOf(restored)], baseEnv);
    const restoreS = restore.ms / 1000;
    const tenGbS = restoreS * (10 * 1024 / dbMib);

    const headers = ['round', 'rampart MiB/s', 'pg_dump|gzip MiB/s', 'ratio (gzip time / rampart time)', 'rampart peak RSS MiB'];
    console.log(`\n${table(headers, rows)}`);
    const ratioVerdict = ratio >= RATIO_TARGET ? 'PASS' : 'FAIL';
    const rssVerdict = growth < RSS_TARGET_MIB ? 'PASS' : 'FAIL';
    const rtoVerdict = tenGbS <= 300 ? 'PASS' : 'FAIL';
    const lines = [
      `database ${dbMib.toFixed(0)} MiB (pg_database_size), backup file ${encryptedMib.toFixed(1)} MiB (zstd + age); gzip of pg_dump ${(rounds[0].gzBytes / 1024 / 1024).toFixed(1)} MiB`,
      `throughput ratio (median of ${ROUNDS}): ${fmt.ratio(ratio)}; target ≥ ${RATIO_TARGET}: ${ratioVerdict}`,
      `rampart backup peak RSS: ${median(rounds.map((r) => r.rampart.peakMib)).toFixed(0)} MiB for ${dbMib.toFixed(0)} MiB, ${tinyRun.peakMib.toFixed(0)} MiB for a near-empty database: growth ${growth.toFixed(1)} MiB; target < ${RSS_TARGET_MIB} MiB: ${rssVerdict}`,
      `restore (rampart restore: checksum, decrypt, pg_restore into a new database, every table checked, swap): ${restoreS.toFixed(1)} s for ${dbMib.toFixed(0)} MiB → ${(tenGbS / 60).toFixed(1)} min for 10 GB by linear extrapolation; RTO target ≤ 5 min: ${rtoVerdict}`,
    ];
    for (const line of lines) console.log(line);
    const out = path.join(ROOT, 'bench', 'results');
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, 'backup-latest.md'), [
      '# Backup bench (latest run)',
      '',
      `${new Date().toISOString()}, ${ROUNDS} interleaved rounds, PostgreSQL at ${new URL(ADMIN_URL).host}${busy.note ? `\n\n> ${busy.note}` : ''}`,
      '',
      mdTable(headers, rows),
      '',
      ...lines.map((l) => `- ${l}`),
      '',
    ].join('\n'));
    console.log('\nwrote bench/results/backup-latest.md');
    if (process.env.BENCH_STRICT === '1' && [ratioVerdict, rssVerdict].includes('FAIL')) process.exitCode = 1;
  } finally {
    for (const name of created) await admin(`drop database if exists ${name} with (force)`).catch(() => undefined);
    await admin(`select datname from pg_database where datname like '${restored}%'`).then(async (rows) => {
      for (const row of rows) await admin(`drop database if exists ${row.datname} with (force)`).catch(() => undefined);
    }).catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

await main();
