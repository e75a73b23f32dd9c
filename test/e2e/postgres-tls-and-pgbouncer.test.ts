// DATA-1: PostgreSQL over TLS with `sslmode=verify-full`, and through PgBouncer's transaction pooling.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authEnv, bearer, logIn, signUp, uniqueEmail } from '../support/auth-client.js';
import { databaseTargets, type DatabaseTarget } from '../support/databases.js';
import { uploadDocument } from '../support/documents-client.js';
import { pgbouncerAvailable, startPgBouncer, type PgBouncer } from '../support/pgbouncer.js';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres.js';
import { runCli, startRampart, type RampartProcess } from '../support/rampart-process.js';
import { createTestAuthority } from '../support/test-certificates.js';

const postgresAvailable = databaseTargets()[1]!.available;

describe.skipIf(!postgresAvailable)('PostgreSQL over TLS (sslmode=verify-full)', () => {
  let server: PrivatePostgres;
  let files: string;
  let trustedCa: string;
  let otherCa: string;
  // The server's certificate names "localhost" only: reached as 127.0.0.1 it does not match.
  const urlFor = (host: string, ca: string) => `postgres://postgres@${host}:${server.port}/postgres?sslmode=verify-full&sslrootcert=${encodeURIComponent(ca)}`;

  beforeAll(async () => {
    const authority = await createTestAuthority('Rampart test database CA');
    const stranger = await createTestAuthority('Some other CA');
    server = await startPrivatePostgres({ tls: await authority.issue(['localhost']) });
    files = await mkdtemp(path.join(os.tmpdir(), 'rampart-tls-'));
    trustedCa = path.join(files, 'ca.crt');
    otherCa = path.join(files, 'other-ca.crt');
    await writeFile(trustedCa, authority.caPem);
    await writeFile(otherCa, stranger.caPem);
  });
  afterAll(async () => {
    await server?.destroy();
    if (files) await rm(files, { recursive: true, force: true });
  });

  it('the test server refuses a connection without TLS (so what works below went over TLS)', async () => {
    const client = new pg.Client({ connectionString: `postgres://postgres@localhost:${server.port}/postgres?sslmode=disable` });
    await expect(client.connect()).rejects.toThrow(/no encryption|pg_hba\.conf rejects/);
    await client.end().catch(() => {});
  });

  it('migrates and serves over TLS when the certificate chains to sslrootcert and names the host', async () => {
    const databaseUrl = urlFor('localhost', trustedCa);
    const migrated = await runCli(['migrate', 'up'], { DATABASE_URL: databaseUrl });
    expect(migrated.code, migrated.stderr).toBe(0);
    const rampart = await startRampart({ env: { DATABASE_URL: databaseUrl } });
    try {
      const readiness = await rampart.request('/readiness');
      expect(readiness.status).toBe(200);
      expect(readiness.json()).toMatchObject({ database: { configured: true, ok: true, details: 'ok:postgres' } });
      // Rampart's own connections, seen from the server: encrypted.
      const admin = new pg.Client({ connectionString: databaseUrl });
      await admin.connect();
      try {
        const { rows } = await admin.query<{ ssl: boolean }>("select s.ssl from pg_stat_ssl s join pg_stat_activity a using (pid) where a.backend_type = 'client backend' and a.pid <> pg_backend_pid()");
        expect(rows.length).toBeGreaterThan(0);
        expect(rows.every((row) => row.ssl)).toBe(true);
      } finally {
        await admin.end();
      }
    } finally {
      await rampart.stop();
    }
  });

  it('refuses a certificate from another authority, and one that does not name the host it was reached at', async () => {
    const wrongCa = await runCli(['migrate', 'status'], { DATABASE_URL: urlFor('localhost', otherCa) });
    expect(wrongCa.code).not.toBe(0);
    expect(wrongCa.stderr + wrongCa.stdout).toMatch(/certificate/i);
    const wrongName = await runCli(['migrate', 'status'], { DATABASE_URL: urlFor('127.0.0.1', trustedCa) });
    expect(wrongName.code).not.toBe(0);
    expect(wrongName.stderr + wrongName.stdout).toMatch(/altnames|does not match|hostname/i);

    // In development migrations run at start: `serve` stops with one line naming the refusal.
    const serve = await startRampart({ env: { DATABASE_URL: urlFor('127.0.0.1', trustedCa), DATABASE_CONNECT_TIMEOUT_MS: '1000' }, expectExit: true });
    expect(await serve.exited).toBe(1);
    expect(serve.stderr()).toMatch(/^rampart: migrations failed: Hostname\/IP does not match certificate's altnames/m);
  });
});

describe.skipIf(!postgresAvailable || (!pgbouncerAvailable() && process.env.CI !== 'true'))('PostgreSQL through PgBouncer in transaction pooling mode', () => {
  let target: DatabaseTarget;
  let bouncer: PgBouncer;
  let rampart: RampartProcess;
  let databaseUrl: string;

  beforeAll(async () => {
    target = await databaseTargets()[1]!.create();
    const upstream = new URL(target.url!);
    // Two server connections for every client connection of the pool, the listener and the CLI.
    bouncer = await startPgBouncer({ host: upstream.hostname, port: Number(upstream.port || 5432) }, { poolSize: 2 });
    databaseUrl = bouncer.via(target.url!);
  });
  afterAll(async () => {
    await rampart?.stop();
    await bouncer?.stop();
    await target?.cleanup();
  });

  it('migrates, signs up and in, stores and searches a document through the worker, all via the bouncer', async () => {
    const migrated = await runCli(['migrate', 'up'], { DATABASE_URL: databaseUrl });
    expect(migrated.code, migrated.stderr).toBe(0);
    expect((await runCli(['migrate', 'status'], { DATABASE_URL: databaseUrl })).stdout).toMatch(/ 0 pending/);

    // Short poll: NOTIFY does not cross a transaction-pooling bouncer; the worker polls instead.
    rampart = await startRampart({ args: ['serve', '--with-worker'], env: authEnv(target, { DATABASE_URL: databaseUrl, DATABASE_POOL_MAX: '10', JOB_POLL_INTERVAL_MS: '200' }) });
    expect((await rampart.request('/readiness')).json()).toMatchObject({ database: { ok: true } });

    // Concurrent sign-ups and logins: ten pool connections multiplexed onto two server connections.
    const emails = Array.from({ length: 6 }, (_, i) => uniqueEmail(`bouncer-${i}`));
    await Promise.all(emails.map((email) => signUp(rampart, email)));
    const tokens = await Promise.all(emails.map((email) => logIn(rampart, email)));
    for (const token of tokens) expect((await rampart.request('/v1/me', { headers: bearer(token.access_token) })).status).toBe(200);

    const auth = bearer(tokens[0]!.access_token);
    const uploaded = await uploadDocument(rampart, auth, 'bouncer.txt', Buffer.from('Pelican inventory for the harbour'));
    expect(uploaded.status, uploaded.body).toBe(201);
    const { id } = uploaded.json<{ id: string }>();
    await expect.poll(async () => (await rampart.request(`/v1/documents/${id}`, { headers: auth })).json<{ status: string }>().status, { timeout: 20_000, interval: 200 }).toBe('extracted');
    const found = (await rampart.request('/v1/documents/search?q=pelicans', { headers: auth })).json<{ results: Array<{ id: string }> }>();
    expect(found.results.map((r) => r.id)).toEqual([id]);
    expect(rampart.stdout()).not.toMatch(/prepared statement|"level":"error"/);
    // All of it went through the bouncer.
    expect(await bouncer.transactions(new URL(target.url!).pathname.slice(1))).toBeGreaterThan(50);
    // Migrations, a start, twelve password hashes and an extraction: minutes on a loaded 2-core machine.
  }, 120_000);
});
