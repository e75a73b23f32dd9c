// Upload cost: a large file through POST /v1/documents against a plain disk copy of the same
// file, interleaved, and the server's peak memory while it streams. See bench/README.md.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { performance } from 'node:perf_hooks';
import { ROOT, installCleanup, makeTempDir, median, sleep, startRampartServer, stopAll } from './lib.mjs';
import { busyMachineNote, fmt, mdTable, positiveNumber, table } from './measure.mjs';

const FILE_MIB = positiveNumber('BENCH_UPLOAD_MIB', 200);
const ROUNDS = positiveNumber('BENCH_ROUNDS', 3);
const RATIO_TARGET = 0.5;
const RSS_TARGET_MIB = 64;
const MIB = 1024 * 1024;
const EMAIL = 'bench-upload@example.com';
const PASSWORD = 'correct horse battery staple 42';

async function postJson(base, route, body) {
  const res = await fetch(base + route, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${route} answered ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

/** A PDF header then random bytes: a binary upload (no UTF-8 check), as most large documents are. */
function writeSampleFile(file, mib) {
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1'));
  const block = randomBytes(MIB);
  for (let i = 0; i < mib; i++) fs.writeSync(fd, block);
  fs.closeSync(fd);
}

/** Read, write, fsync: the same durability the local store gives an upload. */
async function diskCopy(from, to) {
  const t0 = performance.now();
  await pipeline(fs.createReadStream(from), fs.createWriteStream(to));
  const fd = fs.openSync(to, 'r');
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  const ms = performance.now() - t0;
  fs.rmSync(to);
  return ms;
}

/** Streams the file from disk as multipart/form-data (as `curl -F file=@…` does); ms until the 201. */
function upload(base, token, file) {
  const boundary = `----bench${Date.now()}`;
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${path.basename(file)}"\r\nContent-Type: application/pdf\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const length = head.length + fs.statSync(file).size + tail.length;
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}/v1/documents`, {
      method: 'POST',
      agent: false,
      headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(length) },
    }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => (res.statusCode === 201 ? resolve(performance.now() - t0) : reject(new Error(`upload answered ${res.statusCode}: ${body}`))));
    });
    req.on('error', reject);
    req.write(head);
    const source = fs.createReadStream(file);
    source.on('error', reject);
    source.pipe(req, { end: false });
    source.on('end', () => req.end(tail));
  });
}

const statusKib = (pid, field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);

/** Samples the server's RSS every 10 ms until stopped; the peak in KiB. */
function sampleRss(pid) {
  let peak = 0;
  let running = true;
  const done = (async () => {
    while (running) {
      peak = Math.max(peak, statusKib(pid, 'VmRSS'));
      await sleep(10);
    }
  })();
  return async () => {
    running = false;
    await done;
    return peak;
  };
}

async function main() {
  installCleanup();
  const startedAt = new Date();
  const notes = [];
  console.log(`Rampart upload bench — ${os.cpus().length} CPU(s), Node ${process.version}, ${FILE_MIB} MiB file, ${ROUNDS} rounds`);
  const { note } = await busyMachineNote();
  if (note) notes.push(note);

  const dir = makeTempDir('rampart-bench-upload-');
  const file = path.join(dir, 'sample.pdf');
  writeSampleFile(file, FILE_MIB);
  const sizeMib = fs.statSync(file).size / MIB;

  const server = await startRampartServer({
    env: { RATE_LIMIT_ENABLED: 'false', UPLOAD_MAX_BYTES: String((FILE_MIB + 16) * MIB), REQUEST_TIMEOUT_MS: '600000', LOG_LEVEL: 'warn' },
  });
  if (!server.ok) throw new Error(`rampart did not start: ${server.reason}`);
  const pid = server.child.pid;
  await postJson(server.base, '/v1/auth/signup', { email: EMAIL, password: PASSWORD });
  const { access_token: token } = await postJson(server.base, '/v1/auth/login', { email: EMAIL, password: PASSWORD });

  // One small upload first, so the upload path's code is loaded before memory is measured.
  const small = path.join(dir, 'small.pdf');
  writeSampleFile(small, 1);
  await upload(server.base, token, small);
  await sleep(500);
  const rssBeforeKib = statusKib(pid, 'VmRSS');
  // Resets VmHWM to the current RSS (Linux ≥ 4.0), so it reports the peak of the uploads alone.
  let hwmReset = true;
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    hwmReset = false;
    notes.push('could not reset VmHWM (/proc/<pid>/clear_refs); the peak is the 10 ms RSS samples only');
  }
  const stopSampling = sampleRss(pid);

  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? ['copy', 'upload'] : ['upload', 'copy'];
    const round = {};
    for (const kind of order) {
      round[kind] = kind === 'copy' ? await diskCopy(file, path.join(dir, 'copy.pdf')) : await upload(server.base, token, file);
    }
    round.ratio = round.copy / round.upload;
    console.log(`round ${r + 1}/${ROUNDS}: copy ${fmt.ms(round.copy)} ms (${fmt.rps(sizeMib / (round.copy / 1000))} MiB/s), upload ${fmt.ms(round.upload)} ms (${fmt.rps(sizeMib / (round.upload / 1000))} MiB/s), upload/copy ${fmt.ratio(round.ratio)}`);
    rounds.push(round);
  }
  const sampledPeakKib = await stopSampling();
  const peakKib = Math.max(sampledPeakKib, hwmReset ? statusKib(pid, 'VmHWM') : 0);
  const growthMib = (peakKib - rssBeforeKib) / 1024;

  const copyMs = median(rounds.map((r) => r.copy));
  const uploadMs = median(rounds.map((r) => r.upload));
  const ratio = median(rounds.map((r) => r.ratio));
  const headers = ['path', 'median ms', 'MiB/s'];
  const rows = [
    [`disk copy (read, write, fsync) of ${fmt.rps(sizeMib)} MiB`, fmt.ms(copyMs), fmt.rps(sizeMib / (copyMs / 1000))],
    ['POST /v1/documents (multipart, loopback, local storage)', fmt.ms(uploadMs), fmt.rps(sizeMib / (uploadMs / 1000))],
  ];
  console.log(`\n${table(headers, rows)}`);
  const ratioVerdict = ratio >= RATIO_TARGET ? 'PASS' : 'FAIL';
  const rssVerdict = growthMib < RSS_TARGET_MIB ? 'PASS' : 'FAIL';
  console.log(`upload/copy throughput = ${fmt.ratio(ratio)} (per round ${rounds.map((r) => fmt.ratio(r.ratio)).join(' ')}); target ≥ ${RATIO_TARGET}: ${ratioVerdict}`);
  console.log(`server RSS: ${fmt.rps(rssBeforeKib / 1024)} MiB before, peak ${fmt.rps(peakKib / 1024)} MiB during ${ROUNDS} uploads: growth ${growthMib.toFixed(1)} MiB; target < ${RSS_TARGET_MIB} MiB: ${rssVerdict}`);
  for (const n of notes) console.log(`NOTE: ${n}`);

  const out = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'upload-latest.md'), [
    `# Rampart upload bench — ${startedAt.toISOString()}`,
    '',
    `Node ${process.version}, ${os.cpus().length} CPU(s), embedded PGlite, local storage under the bench's temp dir. One ${fmt.rps(sizeMib)} MiB file (PDF header, random bytes), ${ROUNDS} rounds, interleaved.`,
    '',
    mdTable(headers, rows),
    '',
    `upload/copy throughput = **${fmt.ratio(ratio)}** (per round ${rounds.map((r) => fmt.ratio(r.ratio)).join(' ')}); target ≥ ${RATIO_TARGET}: **${ratioVerdict}**`,
    '',
    `Server RSS ${fmt.rps(rssBeforeKib / 1024)} MiB before, peak ${fmt.rps(peakKib / 1024)} MiB: growth **${growthMib.toFixed(1)} MiB**; target < ${RSS_TARGET_MIB} MiB: **${rssVerdict}**`,
    '',
    ...(notes.length ? ['## Notes', '', ...notes.map((n) => `- ${n}`), ''] : []),
  ].join('\n'));
  console.log('\nwrote bench/results/upload-latest.md');
  if (process.env.BENCH_STRICT === '1' && (ratioVerdict !== 'PASS' || rssVerdict !== 'PASS')) process.exitCode = 1;
}

try {
  await main();
} finally {
  await stopAll();
}
