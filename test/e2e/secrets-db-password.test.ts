import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, E2E_APP_SECRET, logIn, PASSWORD, postJson, signUp, uniqueEmail } from '../support/auth-client.js';
import { NO_POSTGRES } from '../support/databases.js';
import { startFakeAws, type FakeAws } from '../support/fake-aws.js';
import { postgresBinDir, startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres.js';
import { runCli, startRampart, type RampartProcess } from '../support/rampart-process.js';

const available = Boolean(process.env.TEST_DATABASE_URL) && postgresBinDir() !== undefined;
if (!available && process.env.CI === 'true') throw new Error('TEST_DATABASE_URL and the PostgreSQL server binaries are required in CI');

const ROLE = 'rampart_app';

async function asSuperuser(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** Connects as the application role with `password`; resolves with the SQLSTATE of a refusal, or 'ok'. */
async function tryPassword(port: number, password: string, database = 'rampart_pw'): Promise<string> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: ROLE, database, password });
  try {
    await client.connect();
    await client.end();
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code ?? 'error';
  }
}

/** Rampart's environment for a rotation test: the provider chain, the database, a pool that reconnects every second. */
function rotationEnv(providers: Record<string, string>, database: string, port: number): Record<string, string> {
  return {
    ...providers,
    DATABASE_URL: `postgres://${ROLE}@127.0.0.1:${port}/${database}`,
    APP_SECRET: E2E_APP_SECRET,
    AUTH_ARGON2_MEMORY_KIB: '1024',
    AUTH_ARGON2_TIME_COST: '1',
    DATABASE_POOL_MAX: '4',
    // Connections retire after a second, so the pool keeps opening new ones during the rotation.
    DATABASE_MAX_LIFETIME_S: '1',
    SECRETS_REFRESH_S: '1',
  };
}

/** Start times of the connections the instance holds to `database` now (taken while readers keep the pool busy). */
async function connectionStarts(url: string, database: string): Promise<Date[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ backend_start: Date }>('select backend_start from pg_stat_activity where usename = $1 and datname = $2', [ROLE, database]);
    return rows.map((r) => r.backend_start);
  } finally {
    await client.end();
  }
}

/** Three clients listing their sessions (a database read each) until stopped; counts what failed. */
async function startDatabaseReaders(rampart: RampartProcess, email: string) {
  await signUp(rampart, email);
  const token = (await logIn(rampart, email)).access_token;
  const tally = { ok: 0, failures: [] as string[] };
  let running = true;
  const reader = async () => {
    while (running) {
      const res = await rampart.request('/v1/auth/sessions', { headers: bearer(token) });
      if (res.status === 200) tally.ok++;
      else tally.failures.push(`${res.status} ${res.body}`);
    }
  };
  const readers = Promise.all([reader(), reader(), reader()]);
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  return {
    tally,
    async stop() {
      running = false;
      await readers;
      return tally;
    },
  };
}

describe.skipIf(!available)('DATABASE_PASSWORD rotation on a live instance (private PostgreSQL with password auth)', () => {
  let postgres: PrivatePostgres;
  let aws: FakeAws;
  let rampart: RampartProcess | undefined;
  beforeAll(async () => {
    postgres = await startPrivatePostgres({ passwordAuthFor: ROLE });
    aws = await startFakeAws();
  });
  afterAll(async () => {
    await rampart?.stop();
    await aws?.close();
    await postgres?.destroy();
  });

  it('ALTER ROLE plus a provider update under continuous queries: zero failed queries, new connections use the new password', async () => {
    const first = `first-db-password-${Date.now()}`;
    const second = `second-db-password-${Date.now()}`;
    await asSuperuser(postgres.url, `create role ${ROLE} login password '${first}'`);
    await asSuperuser(postgres.url, `create database rampart_pw owner ${ROLE}`);
    aws.putParameter('/rampart/development/database_password', first);
    expect(await tryPassword(postgres.port, 'not-the-password')).toBe('28P01');

    const env = rotationEnv({ ...aws.env, SECRETS_PROVIDERS: 'env,ssm' }, 'rampart_pw', postgres.port);
    rampart = await startRampart({ env });
    const readers = await startDatabaseReaders(rampart, uniqueEmail('db-password'));

    const rotatedAt = new Date();
    await asSuperuser(postgres.url, `alter role ${ROLE} password '${second}'`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    aws.putParameter('/rampart/development/database_password', second);
    await rampart.waitForLog((l) => l.msg === 'secrets changed' && (l.changed as string[]).includes('DATABASE_PASSWORD'), 5_000);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    // Every connection the instance holds now (readers still running, so there are some) was
    // opened after the rotation, with the new password.
    const starts = await connectionStarts(postgres.url, 'rampart_pw');
    const { ok, failures } = await readers.stop();

    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(50);
    expect(await tryPassword(postgres.port, first)).toBe('28P01');
    expect(await tryPassword(postgres.port, second)).toBe('ok');
    expect(starts.length).toBeGreaterThan(0);
    expect(starts.every((start) => start > rotatedAt)).toBe(true);

    const output = rampart.stdout() + rampart.stderr();
    expect(output).not.toContain(first);
    expect(output).not.toContain(second);
    const audit = await runCli(['secrets', 'audit'], env);
    expect(audit.stdout).toMatch(/^DATABASE_PASSWORD\s+ssm\s+2\s/m);
    expect(audit.stdout + audit.stderr).not.toContain(second);
  }, 60_000);

  it('Secrets Manager stages the new password as AWSCURRENT before ALTER ROLE: new connections use AWSPREVIOUS until the role is altered, zero failed queries', async () => {
    await rampart?.stop();
    rampart = undefined;
    const first = `sm-first-db-password-${Date.now()}`;
    const second = `sm-second-db-password-${Date.now()}`;
    // Self-contained: the role may exist already (the test above created it).
    await asSuperuser(postgres.url, `do $$ begin create role ${ROLE} login; exception when duplicate_object then null; end $$`);
    await asSuperuser(postgres.url, `alter role ${ROLE} password '${first}'`);
    await asSuperuser(postgres.url, `create database rampart_sm owner ${ROLE}`);
    // A single version: no AWSPREVIOUS yet, which is normal.
    aws.putSecret('rampart/development', { DATABASE_PASSWORD: first });

    const env = rotationEnv({ ...aws.env, SECRETS_PROVIDERS: 'env,secretsmanager', SECRETS_MANAGER_IDS: 'rampart/development' }, 'rampart_sm', postgres.port);
    rampart = await startRampart({ env });
    const readers = await startDatabaseReaders(rampart, uniqueEmail('db-password-sm'));

    let alteredAt = new Date(0);
    let starts: Date[] = [];
    try {
      // What a rotation Lambda's createSecret step does: AWSCURRENT moves first (the old version
      // becomes AWSPREVIOUS); the role is altered only later.
      aws.putSecret('rampart/development', { DATABASE_PASSWORD: second });
      await rampart.waitForLog((l) => l.msg === 'secrets changed' && (l.changed as string[]).includes('DATABASE_PASSWORD'), 5_000);
      const fellBack = await rampart.waitForLog((l) => l.generation === 'previous', 5_000);
      expect(fellBack.setting).toBe('DATABASE_PASSWORD');
      // Longer than the ~3 s of retries with the current value: without the fallback, queries fail.
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      expect(readers.tally.failures).toEqual([]);

      alteredAt = new Date();
      await asSuperuser(postgres.url, `alter role ${ROLE} password '${second}'`);
      const backToCurrent = await rampart.waitForLog((l) => l.generation === 'current', 5_000);
      expect(backToCurrent.setting).toBe('DATABASE_PASSWORD');
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      // Every connection the instance holds now (readers still running, so there are some) was
      // opened after ALTER ROLE: with AWSCURRENT.
      starts = await connectionStarts(postgres.url, 'rampart_sm');
    } finally {
      await readers.stop();
    }
    expect(readers.tally.failures).toEqual([]);
    expect(readers.tally.ok).toBeGreaterThan(50);
    expect(await tryPassword(postgres.port, first, 'rampart_sm')).toBe('28P01');
    expect(await tryPassword(postgres.port, second, 'rampart_sm')).toBe('ok');
    expect(starts.length).toBeGreaterThan(0);
    expect(starts.every((start) => start > alteredAt)).toBe(true);
    const readiness = await rampart.request('/readiness');

    // Neither generation's value appears anywhere: logs, readiness, audit.
    const audit = await runCli(['secrets', 'audit'], env);
    const json = await runCli(['secrets', 'audit', '--json'], env);
    for (const text of [rampart.stdout() + rampart.stderr(), readiness.body, audit.stdout + audit.stderr, json.stdout + json.stderr]) {
      expect(text).not.toContain(first);
      expect(text).not.toContain(second);
    }
    // The audit says that a previous version exists (stage and version id only).
    expect(audit.stdout).toMatch(/^DATABASE_PASSWORD\s+secretsmanager\s+[0-9a-f-]{36} \+AWSPREVIOUS\s/m);
    const row = (JSON.parse(json.stdout) as { secrets: Array<{ name: string; previous?: { stage: string; version: string } }> }).secrets.find((r) => r.name === 'DATABASE_PASSWORD');
    expect(row?.previous).toEqual({ stage: 'AWSPREVIOUS', version: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  }, 60_000);

  it('a password refused for longer than the retry window answers 503 database-unavailable with Retry-After, logged as an outage, and recovers by itself', async () => {
    await rampart?.stop();
    rampart = undefined;
    const password = `refused-db-password-${Date.now()}`;
    const other = `not-given-to-rampart-${Date.now()}`;
    await asSuperuser(postgres.url, `do $$ begin create role ${ROLE} login; exception when duplicate_object then null; end $$`);
    await asSuperuser(postgres.url, `alter role ${ROLE} password '${password}'`);
    await asSuperuser(postgres.url, `create database rampart_refused owner ${ROLE}`);
    const env = { ...rotationEnv({ DATABASE_PASSWORD: password }, 'rampart_refused', postgres.port), SECRETS_REFRESH_S: '0' };
    rampart = await startRampart({ env });
    const email = uniqueEmail('refused');
    await signUp(rampart, email);
    const token = (await logIn(rampart, email)).access_token;

    // The role's password changes and nobody tells Rampart: once the pooled connections retire
    // (DATABASE_MAX_LIFETIME_S=1), every new connection is refused, retries included.
    await asSuperuser(postgres.url, `alter role ${ROLE} password '${other}'`);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    for (const res of [await rampart.request('/v1/auth/sessions', { headers: bearer(token) }), await postJson(rampart, '/v1/auth/login', { email, password: PASSWORD })]) {
      expect(res.status).toBe(503);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.json()).toMatchObject({ type: '/problems/database-unavailable', status: 503, title: 'Service Unavailable', detail: expect.stringContaining('database') });
      for (const secret of [password, other, ROLE, String(postgres.port)]) expect(res.body).not.toContain(secret);
      const logged = await rampart.waitForLog((l) => l.msg === 'dependency unavailable' && l.correlation_id === res.headers['x-correlation-id']);
      expect(logged).toMatchObject({ level: 'error', dependency: 'database', reason: 'authentication failed (28P01)' });
      const line = await rampart.waitForLog((l) => l.msg === 'request completed' && l.correlation_id === res.headers['x-correlation-id']);
      expect(line.status).toBe(503);
    }
    expect(rampart.logs.filter((l) => l.msg === 'unhandled error' || l.msg === 'client error')).toEqual([]);
    const output = rampart.stdout() + rampart.stderr();
    expect(output).not.toContain(password);
    expect(output).not.toContain(other);

    // The password is put back: the next request gets a connection again, no restart.
    await asSuperuser(postgres.url, `alter role ${ROLE} password '${password}'`);
    expect((await rampart.request('/v1/auth/sessions', { headers: bearer(token) })).status).toBe(200);
  }, 60_000);
});

if (!available) describe('DATABASE_PASSWORD rotation', () => it.skip(NO_POSTGRES, () => {}));
