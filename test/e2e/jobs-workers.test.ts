import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { databaseTargets, type DatabaseTarget } from '../support/databases.js';
import { postgresBinDir, startPrivatePostgres } from '../support/private-postgres.js';
import { repoRoot, runCli, send, startRampart, type RampartProcess } from '../support/rampart-process.js';

const post = (body: unknown, headers: Record<string, string> = {}) => ({ method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
const jobsPlugin = join(repoRoot, 'test', 'fixtures', 'test-jobs.mjs');
const postgres = databaseTargets()[1]!;

describe('worker processes sharing one PostgreSQL queue', () => {
  let target: DatabaseTarget | undefined;
  const processes: RampartProcess[] = [];
  afterEach(async () => {
    await Promise.all(processes.splice(0).map((p) => p.stop('SIGKILL')));
    await target?.cleanup();
    target = undefined;
  });

  const setup = async () => {
    target = await postgres.create();
    const url = target.url!;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const query = async <T extends pg.QueryResultRow>(text: string, values: unknown[] = []) => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        return (await c.query<T>(text, values)).rows;
      } finally {
        await c.end();
      }
    };
    await client.end();
    const env = { DATABASE_URL: url, JOB_LEASE_MS: '1500', JOB_POLL_INTERVAL_MS: '100' };
    const worker = async (extra: Record<string, string> = {}) => {
      const p = await startRampart({ env: { ...env, ...extra }, args: ['worker', '--plugin', jobsPlugin], expectExit: true });
      processes.push(p);
      await p.waitForLog((line) => line.msg === 'worker started', 30_000);
      return p;
    };
    const web = async () => {
      const p = await startRampart({ env, args: ['serve', '--plugin', jobsPlugin] });
      processes.push(p);
      return p;
    };
    return { url, env, query, worker, web };
  };

  it.skipIf(!postgres.available)('runs a cron schedule once per tick across two worker processes', async () => {
    const { query, worker } = await setup();
    const a = await worker({ TEST_TICK_CRON: '* * * * * *' });
    const b = await worker({ TEST_TICK_CRON: '* * * * * *' });
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    await a.stop();
    await b.stop();
    const ticks = await query<{ tick: string; runs: string }>('select tick, count(*) as runs from job_ticks group by tick');
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    for (const tick of ticks) expect(Number(tick.runs), `tick ${tick.tick}`).toBe(1);
    const jobs = await query<{ n: string }>("select count(*) as n from jobs where type = 'test.tick'");
    expect(Number(jobs[0]!.n)).toBe(ticks.length);
  });

  it.skipIf(!postgres.available)('a job whose worker is killed with -9 is retried by another and takes effect once', async () => {
    const { query, worker, web } = await setup();
    const api = await web();
    const doomed = await worker();
    const enqueued = await api.request('/test/jobs', post({ type: 'test.effect', payload: { key: 'order-1', sleepMs: 2_500 }, idempotencyKey: 'order-1' }));
    expect(enqueued.status).toBe(202);
    await doomed.waitForLog((line) => line.msg === 'effect job running', 15_000);
    doomed.child.kill('SIGKILL');
    await doomed.exited;

    const rescuer = await worker();
    await rescuer.waitForLog((line) => line.msg === 'job completed' && line.job_type === 'test.effect', 20_000);
    const effects = await query<{ pid: number }>("select pid from job_effects where key = 'order-1'");
    expect(effects).toEqual([{ pid: rescuer.child.pid }]);
    const attempts = await query<{ pid: number }>("select pid from job_attempts where key = 'order-1' order by at");
    expect(attempts.map((a) => a.pid)).toEqual([doomed.child.pid, rescuer.child.pid]);
    const [job] = await query<{ state: string; attempts: number }>("select state, attempts from jobs where type = 'test.effect'");
    expect(job).toEqual({ state: 'completed', attempts: 2 });

    // The killed worker's attempt is counted as lost (by the worker that took the job back), not as a retry.
    const metricsUrl = /metrics\s+(http:\S+)/.exec(rescuer.stderr())?.[1];
    expect(metricsUrl).toBeDefined();
    const outcomes = (await send(metricsUrl!)).body.split('\n').filter((line) => line.startsWith('jobs_processed_total{') && line.includes('type="test.effect"'));
    const count = (outcome: string) => Number(outcomes.find((line) => line.includes(`outcome="${outcome}"`))?.split(' ').pop() ?? 0);
    expect({ lost: count('lost'), completed: count('completed'), retry: count('retry') }).toEqual({ lost: 1, completed: 1, retry: 0 });
  });

  it.skipIf(!postgres.available)('SIGTERM lets the running job finish, takes no new one, and exits 0', async () => {
    const { query, worker, web } = await setup();
    const api = await web();
    const w = await worker();
    await api.request('/test/jobs', post({ type: 'test.effect', payload: { key: 'long', sleepMs: 2_000 } }));
    await w.waitForLog((line) => line.msg === 'effect job running', 15_000);
    w.child.kill('SIGTERM');
    // Enqueued after the signal: this worker must leave it for others.
    await api.request('/test/jobs', post({ type: 'test.effect', payload: { key: 'after-sigterm' } }));
    expect(await w.exited).toBe(0);
    expect(await query("select key from job_effects order by key")).toEqual([{ key: 'long' }]);
    // Only the test's jobs: built-in scheduled jobs (e.g. documents.purge-deleted) run on start too.
    const states = await query<{ key: string; state: string }>("select payload->>'key' as key, state from jobs where type = 'test.effect' order by created_at");
    expect(states).toEqual([
      { key: 'long', state: 'completed' },
      { key: 'after-sigterm', state: 'queued' },
    ]);
  });

  it.skipIf(!postgres.available)('operators list, retry and purge dead-lettered jobs with `rampart jobs`', async () => {
    const { url, query, worker, web } = await setup();
    const api = await web();
    await worker();
    const { id } = (await api.request('/test/jobs', post({ type: 'test.fail', payload: {} }))).json<{ id: string }>();
    await expect.poll(async () => (await query<{ state: string }>('select state from jobs where id = $1', [id]))[0]?.state, { timeout: 15_000 }).toBe('dead');

    const env = { DATABASE_URL: url };
    const listed = await runCli(['jobs', 'list'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/test\.fail\s+dead\s+1/);
    expect(listed.stdout).toContain(id);
    expect(listed.stdout).toContain('this job always fails');

    expect((await runCli(['jobs', 'retry', 'not-a-uuid'], env)).code).toBe(2);
    const retried = await runCli(['jobs', 'retry', id], env);
    expect(retried.stdout).toContain('1 job(s) back in the queue');
    // It fails again (it always does) and is dead once more; then purge it.
    await expect.poll(async () => (await query<{ state: string; attempts: number }>('select state, attempts from jobs where id = $1', [id]))[0], { timeout: 15_000 }).toEqual({ state: 'dead', attempts: 1 });
    const purged = await runCli(['jobs', 'purge-dlq', '--type', 'test.fail'], env);
    expect(purged.stdout).toContain('1 dead job(s) deleted');
    expect(await query('select id from jobs where id = $1', [id])).toEqual([]);
  });
});

describe.each(databaseTargets())('a job enqueued by a request, on $name', (factory) => {
  it('carries the request\'s correlation id into every log line of the job', async (ctx) => {
    ctx.skip(!factory.available, factory.skipReason);
    const target = await factory.create();
    const app = await startRampart({ env: { DATABASE_URL: target.url }, args: ['serve', '--with-worker', '--plugin', jobsPlugin] });
    try {
      const response = await app.request('/test/jobs', post({ type: 'test.effect', payload: { key: 'traced' } }, { 'x-correlation-id': 'checkout-77' }));
      expect(response.status).toBe(202);
      await app.waitForLog((line) => line.msg === 'job completed' && line.job_type === 'test.effect', 20_000);
      const jobLines = app.logs.filter((line) => line.job_type === 'test.effect');
      expect(jobLines.map((line) => line.msg)).toEqual(expect.arrayContaining(['effect job running', 'job completed']));
      for (const line of jobLines) expect(line.correlation_id).toBe('checkout-77');

      // The queue is observable: outcomes and durations by type, depth by state, workers in readiness.
      await app.request('/test/jobs', post({ type: 'test.effect', payload: { key: 'later' } }));
      const metrics = (await send(app.metricsUrl)).body;
      expect(metrics).toMatch(/jobs_processed_total\{type="test\.effect",outcome="completed"\} [12]/);
      expect(metrics).toMatch(/job_duration_seconds_bucket\{le="0\.1",type="test\.effect",outcome="completed"\}/);
      expect(metrics).toMatch(/jobs_queue_depth\{type="test\.effect",state="(queued|active)"\} 1|jobs_processed_total\{type="test\.effect",outcome="completed"\} 2/);
      expect(metrics).toContain('# TYPE jobs_oldest_ready_age_seconds gauge');
      expect((await app.request('/readiness')).json<{ workers: { alive: number } }>().workers.alive).toBe(1);
    } finally {
      await app.stop();
      await target.cleanup();
    }
  });
});

describe.skipIf(!postgresBinDir())('a worker while its PostgreSQL restarts', () => {
  it('keeps running through the outage and picks up a job enqueued while it reconnected, without a restart', async () => {
    const server = await startPrivatePostgres();
    const env = { DATABASE_URL: server.url, JOB_LEASE_MS: '1500', JOB_POLL_INTERVAL_MS: '60000', DATABASE_CONNECT_TIMEOUT_MS: '1000' };
    const worker = await startRampart({ env, args: ['worker', '--plugin', jobsPlugin], expectExit: true });
    try {
      await worker.waitForLog((line) => line.msg === 'worker started', 30_000);
      // What the queue's enqueue writes, including the wake-up.
      const enqueue = async (key: string) => {
        await server.query("insert into jobs (type, payload, max_attempts) values ('test.effect', $1, 3)", [JSON.stringify({ key })]);
        await server.query("select pg_notify('rampart_jobs', 'test.effect')");
      };
      // The worker also runs its scheduled jobs' latest tick at start: count only the test's.
      const testJobsDone = () => worker.logs.filter((line) => line.msg === 'job completed' && line.job_type === 'test.effect').length;
      await enqueue('before');
      await worker.waitForLog((line) => line.msg === 'job completed' && line.job_type === 'test.effect', 15_000);

      await server.stop();
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await server.start();
      // Enqueued before the worker listens again (it retries every second), so its NOTIFY is
      // lost; polling is once a minute here. Only the look the worker takes when it listens
      // again can pick the job up in time.
      await enqueue('after');
      await worker.waitForLog((line) => line.msg === 'listening for notifications again', 20_000);
      await expect.poll(testJobsDone, { timeout: 20_000 }).toBe(2);
      expect(worker.child.exitCode).toBeNull();
      expect(await worker.stop()).toBe(0);
    } finally {
      await worker.stop('SIGKILL');
      await server.destroy();
    }
    // initdb, two starts of a private cluster and a worker: over 30 s on a loaded 2-core machine.
  }, 90_000);
});
