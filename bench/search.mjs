// Full-text search latency: 10,000 documents with extracted text in PostgreSQL, queried over
// loopback HTTP through GET /v1/documents/search. See bench/README.md.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { ROOT, installCleanup, median, startRampartServer, stopAll } from './lib.mjs';
import { busyMachineNote, fmt, mdTable, measure, positiveNumber, table, percentile } from './measure.mjs';

const DOCUMENTS = positiveNumber('BENCH_SEARCH_DOCUMENTS', 10_000);
const WORDS_PER_DOCUMENT = positiveNumber('BENCH_SEARCH_WORDS', 300);
const QUERIES = positiveNumber('BENCH_SEARCH_QUERIES', 1_000);
const DURATION_S = positiveNumber('BENCH_DURATION_S', 5);
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const P99_TARGET_MS = 50;
const EMAIL = 'bench-search@example.com';
const PASSWORD = 'correct horse battery staple 42';

/** Deterministic pseudo-random numbers, so every run indexes the same corpus. */
function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 5,000 pronounceable words; drawn with a Zipf-like skew, as words in real text are. */
function vocabulary(random) {
  const consonants = 'bdfgklmnprstvz';
  const vowels = 'aeiou';
  const words = new Set();
  while (words.size < 5_000) {
    let word = '';
    const syllables = 2 + Math.floor(random() * 3);
    for (let i = 0; i < syllables; i++) word += consonants[Math.floor(random() * consonants.length)] + vowels[Math.floor(random() * vowels.length)];
    words.add(word);
  }
  return [...words];
}

const zipfIndex = (random, n) => Math.min(n - 1, Math.floor(n ** random()) - 1 + Math.floor(random() * 2));

async function postJson(base, route, body) {
  const res = await fetch(base + route, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${route} answered ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

async function seedDocuments(url, tenantId, words, random) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const BATCH = 500;
    for (let start = 0; start < DOCUMENTS; start += BATCH) {
      const values = [];
      const params = [];
      for (let i = start; i < Math.min(DOCUMENTS, start + BATCH); i++) {
        const text = Array.from({ length: WORDS_PER_DOCUMENT }, () => words[zipfIndex(random, words.length)]).join(' ');
        const id = randomUUID();
        params.push(id, tenantId, `${words[Math.floor(random() * words.length)]}-report-${i}.pdf`, `${tenantId}/${id}`, text);
        const p = params.length;
        values.push(`($${p - 4}, $${p - 3}, $${p - 2}, 'application/pdf', 1000, repeat('0', 64), $${p - 1}, 'extracted', $${p}, now())`);
      }
      await client.query(`insert into documents (id, tenant_id, original_name, content_type, size_bytes, sha256, storage_key, status, extracted_text, extracted_at) values ${values.join(', ')}`, params);
    }
    await client.query('analyze documents');
  } finally {
    await client.end();
  }
}

/** Sequential GETs on one keep-alive connection: the latency a single user sees. */
async function sequentialLatencies(base, token, queries) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const latencies = [];
  let failures = 0;
  let hits = 0;
  for (const q of queries) {
    const t0 = performance.now();
    const { status, body } = await new Promise((resolve) => {
      http.get(`${base}/v1/documents/search?q=${encodeURIComponent(q)}&limit=20`, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
        let text = '';
        res.on('data', (c) => { text += c; });
        res.on('end', () => resolve({ status: res.statusCode, body: text }));
      }).on('error', () => resolve({ status: 0, body: '' }));
    });
    latencies.push(performance.now() - t0);
    if (status !== 200) failures++;
    else hits += JSON.parse(body).total;
  }
  agent.destroy();
  return { latencies, failures, meanTotal: hits / queries.length };
}

async function main() {
  installCleanup();
  const startedAt = new Date();
  const notes = [];
  console.log(`Rampart search bench — ${os.cpus().length} CPU(s), Node ${process.version}, ${DOCUMENTS} documents × ${WORDS_PER_DOCUMENT} words`);
  const { note } = await busyMachineNote();
  if (note) notes.push(note);

  const database = `rampart_bench_${randomUUID().slice(0, 8)}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  try {
    await admin.connect();
  } catch (error) {
    console.log(`skipped: no PostgreSQL at BENCH_DATABASE_URL (${error.code ?? error.message})`);
    return;
  }
  await admin.query(`create database ${database}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  try {
    const server = await startRampartServer({ env: { RATE_LIMIT_ENABLED: 'false', DATABASE_URL: url.toString(), LOG_LEVEL: 'warn', MIGRATE_ON_START: 'true' } });
    if (!server.ok) throw new Error(`rampart did not start: ${server.reason}`);
    const { tenant_id: tenantId } = await postJson(server.base, '/v1/auth/signup', { email: EMAIL, password: PASSWORD });
    const { access_token: token } = await postJson(server.base, '/v1/auth/login', { email: EMAIL, password: PASSWORD });

    const random = prng(42);
    const words = vocabulary(random);
    const t0 = performance.now();
    await seedDocuments(url.toString(), tenantId, words, random);
    console.log(`seeded ${DOCUMENTS} documents in ${fmt.ms((performance.now() - t0) / 1000)} s`);

    // People search for words that tell documents apart: query words are drawn evenly from the
    // vocabulary (most match tens to hundreds of documents), mostly single words, some two-word
    // and phrase queries. The most common words (in nearly every document) are measured apart.
    const queries = Array.from({ length: QUERIES }, (_, i) => {
      const word = () => words[Math.floor(random() * words.length)];
      return i % 10 === 0 ? `"${word()} ${word()}"` : i % 4 === 0 ? `${word()} ${word()}` : word();
    });
    await sequentialLatencies(server.base, token, queries.slice(0, 50));
    const sequential = await sequentialLatencies(server.base, token, queries);
    const p50 = median(sequential.latencies);
    const p99 = percentile(sequential.latencies, 99);
    const kinds = { word: (q) => !q.includes(' '), 'two words': (q) => q.includes(' ') && !q.startsWith('"'), phrase: (q) => q.startsWith('"') };
    for (const [kind, test] of Object.entries(kinds)) {
      const own = sequential.latencies.filter((_, i) => test(queries[i]));
      console.log(`  ${kind}: ${own.length} queries, p50 ${fmt.ms(median(own))} ms, p99 ${fmt.ms(percentile(own, 99))} ms`);
    }
    const common = await sequentialLatencies(server.base, token, words.slice(0, 20));
    const loaded = await measure({ url: `${server.base}/v1/documents/search?q=${encodeURIComponent(words[3])}&limit=20`, headers: { authorization: `Bearer ${token}` } }, { durationS: DURATION_S, connections: 10, pids: [server.child.pid] });

    const headers = ['workload', 'requests', 'p50 ms', 'p99 ms', 'failures'];
    const rows = [
      [`sequential, ${QUERIES} mixed queries (mean ${fmt.rps(sequential.meanTotal)} matches)`, QUERIES, fmt.ms(p50), fmt.ms(p99), sequential.failures],
      [`sequential, the 20 most common words (mean ${fmt.rps(common.meanTotal)} matches)`, 20, fmt.ms(median(common.latencies)), fmt.ms(percentile(common.latencies, 99)), common.failures],
      [`10 connections, one common word, ${DURATION_S}s (${fmt.rps(loaded.rps)} req/s)`, loaded.totalRequests, fmt.ms(loaded.p50), fmt.ms(loaded.p99), loaded.non2xx + loaded.errors],
    ];
    console.log(`\n${table(headers, rows)}`);
    const verdict = p99 != null && p99 < P99_TARGET_MS && sequential.failures === 0 ? 'PASS' : 'FAIL';
    console.log(`search p99 (sequential, mixed queries) ${fmt.ms(p99)} ms; target < ${P99_TARGET_MS} ms: ${verdict}`);
    for (const n of notes) console.log(`NOTE: ${n}`);

    const out = path.join(ROOT, 'bench', 'results');
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, 'search-latest.md'), [
      `# Rampart search bench — ${startedAt.toISOString()}`,
      '',
      `Node ${process.version}, ${os.cpus().length} CPU(s), PostgreSQL (${ADMIN_URL.replace(/\/\/[^@]*@/, '//')}), ${DOCUMENTS} documents of ${WORDS_PER_DOCUMENT} words (5,000-word vocabulary, Zipf-like), one tenant. GET /v1/documents/search over loopback, limit 20, ranking and headlines included.`,
      '',
      mdTable(headers, rows),
      '',
      `Search p99 (sequential, mixed queries) **${fmt.ms(p99)} ms**; target < ${P99_TARGET_MS} ms: **${verdict}**`,
      '',
      ...(notes.length ? ['## Notes', '', ...notes.map((n) => `- ${n}`), ''] : []),
    ].join('\n'));
    console.log('\nwrote bench/results/search-latest.md');
    if (process.env.BENCH_STRICT === '1' && verdict !== 'PASS') process.exitCode = 1;
  } finally {
    await stopAll();
    if (process.env.BENCH_KEEP_DATABASE === '1') console.log(`kept database ${database}`);
    else await admin.query(`drop database if exists ${database} with (force)`).catch(() => undefined);
    await admin.end();
  }
}

try {
  await main();
} finally {
  await stopAll();
}
