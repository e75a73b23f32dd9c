import { Writable } from 'node:stream';
import { sql } from 'kysely';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { databaseTargets, freshDatabasePerTest } from '../../../test/support/databases.js';
import { migrateUp } from '../db/migrations.js';
import { createMetrics } from '../metrics/registry.js';
import { jobAdmin } from './job-admin.js';
import { createJobQueue } from './job-queue.js';
import { jobStore } from './job-store.js';
import type { JobDefinition } from './job-types.js';
import { startJobWorker, type DeadJob, type JobWorker, type JobWorkerOptions } from './job-worker.js';

/** A logger whose JSON lines the test can read. */
function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

describe.each(databaseTargets())('job queue on $name', (factory) => {
  const fresh = freshDatabasePerTest(factory);
  const workers: JobWorker[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.stop(0)));
  });

  const setup = async () => {
    await migrateUp(fresh.handle);
    const { db } = fresh.handle;
    const effects: string[] = [];
    const { logger, lines } = capturingLogger();
    const start = async (definitions: JobDefinition[], options: Partial<JobWorkerOptions> = {}) => {
      const worker = await startJobWorker({
        db,
        queue: createJobQueue({ definitions }),
        definitions,
        workerId: options.workerId ?? `w-${workers.length}`,
        logger,
        listen: fresh.handle.listen,
        concurrency: 4,
        pollIntervalMs: 50,
        leaseMs: 3_000,
        retentionS: 3_600,
        ...options,
      });
      workers.push(worker);
      return worker;
    };
    const jobs = () => db.selectFrom('jobs').selectAll().orderBy('created_at').execute();
    return { db, effects, lines, start, jobs, queue: createJobQueue() };
  };

  it('a job enqueued in a transaction exists only if the transaction commits', async () => {
    const { db, queue, jobs } = await setup();
    await db.transaction().execute(async (trx) => {
      await sql`insert into tenants (name) values ('kept')`.execute(trx);
      await queue.enqueue(trx, 'tenant.welcome', { name: 'kept' });
    });
    await expect(
      db.transaction().execute(async (trx) => {
        await sql`insert into tenants (name) values ('rolled back')`.execute(trx);
        await queue.enqueue(trx, 'tenant.welcome', { name: 'rolled back' });
        throw new Error('the data change failed');
      }),
    ).rejects.toThrow('the data change failed');

    expect((await jobs()).map((job) => job.payload)).toEqual([{ name: 'kept' }]);
    expect((await db.selectFrom('tenants').select('name').execute()).map((t) => t.name)).toEqual(['kept']);
  });

  it('runs a job once per idempotency key, however often it is enqueued', async () => {
    const { db, queue, effects, start, jobs } = await setup();
    const first = await queue.enqueue(db, 'mail.send', { to: 'a' }, { idempotencyKey: 'order-1' });
    const second = await queue.enqueue(db, 'mail.send', { to: 'a' }, { idempotencyKey: 'order-1' });
    const other = await queue.enqueue(db, 'mail.send', { to: 'b' }, { idempotencyKey: 'order-2' });
    expect(second).toEqual({ id: first.id, created: false });
    expect(other.created).toBe(true);

    await start([{ type: 'mail.send', run: async (payload) => void effects.push((payload as { to: string }).to) }]);
    await expect.poll(async () => (await jobs()).map((job) => job.state), { timeout: 10_000 }).toEqual(['completed', 'completed']);
    // Enqueued again after it ran: still the same job, not a second run.
    expect((await queue.enqueue(db, 'mail.send', { to: 'a' }, { idempotencyKey: 'order-1' })).created).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(effects.sort()).toEqual(['a', 'b']);
  });

  it('retries a failing job with growing delays until it succeeds', async () => {
    const { db, queue, start, jobs } = await setup();
    const runs: number[] = [];
    await start([
      {
        type: 'flaky',
        backoffMs: 200,
        run: async (_payload, context) => {
          runs.push(Date.now());
          if (context.attempt < 3) throw new Error(`dependency down (attempt ${context.attempt})`);
        },
      },
    ]);
    await queue.enqueue(db, 'flaky', {});
    await expect.poll(async () => (await jobs())[0]?.state, { timeout: 15_000 }).toBe('completed');
    const [job] = await jobs();
    expect(job?.attempts).toBe(3);
    expect(runs).toHaveLength(3);
    // Retry 1 waits 100–200 ms, retry 2 waits 200–400 ms.
    expect(runs[1]! - runs[0]!).toBeGreaterThanOrEqual(90);
    expect(runs[2]! - runs[1]!).toBeGreaterThanOrEqual(190);
  });

  it('moves a job that keeps failing to the dead-letter queue, from where an operator can retry it', async () => {
    const { db, queue, start, jobs } = await setup();
    let healthy = false;
    await start([
      {
        type: 'import',
        maxAttempts: 2,
        backoffMs: 10,
        run: async () => {
          if (!healthy) throw new Error('bad input file');
        },
      },
    ]);
    const { id } = await queue.enqueue(db, 'import', { file: 'x.csv' });
    await expect.poll(async () => (await jobs())[0]?.state, { timeout: 10_000 }).toBe('dead');
    const [dead] = await jobs();
    expect(dead).toMatchObject({ attempts: 2, last_error: 'Error: bad input file' });
    expect(await jobAdmin(db).list({ state: 'dead', limit: 10 })).toMatchObject([{ id, type: 'import' }]);

    healthy = true;
    expect(await jobAdmin(db).retry({ ids: [id] })).toEqual([id]);
    await expect.poll(async () => (await jobs())[0]?.state, { timeout: 10_000 }).toBe('completed');
    expect(await jobAdmin(db).purgeDead({ olderThanDays: 0 })).toBe(0);
  });

  it('fails an attempt that runs past its timeout and aborts its signal', async () => {
    const { db, queue, start, jobs } = await setup();
    let aborted = false;
    await start([
      {
        type: 'slow',
        maxAttempts: 1,
        timeoutMs: 200,
        run: (_payload, context) =>
          new Promise((resolve) => {
            context.signal.addEventListener('abort', () => {
              aborted = true;
              resolve();
            });
          }),
      },
    ]);
    await queue.enqueue(db, 'slow', {});
    await expect.poll(async () => (await jobs())[0]?.state, { timeout: 10_000 }).toBe('dead');
    expect((await jobs())[0]?.last_error).toMatch(/timed out after 200 ms/);
    expect(aborted).toBe(true);
  });

  it('runs higher priorities first', async () => {
    const { db, queue, effects, start } = await setup();
    await queue.enqueue(db, 'report', { name: 'low' }, { priority: 0 });
    await queue.enqueue(db, 'report', { name: 'high' }, { priority: 10 });
    await queue.enqueue(db, 'report', { name: 'middle' }, { priority: 5 });
    await start([{ type: 'report', run: async (payload) => void effects.push((payload as { name: string }).name) }], { concurrency: 1 });
    await expect.poll(() => effects.length, { timeout: 10_000 }).toBe(3);
    expect(effects).toEqual(['high', 'middle', 'low']);
  });

  it('carries the correlation id of the enqueuing request into every log line of the job', async () => {
    const { db, queue, start, lines, jobs } = await setup();
    await start([
      {
        type: 'traced',
        run: async (_payload, context) => {
          context.logger.info('step one');
          context.logger.info('step two');
        },
      },
    ]);
    await queue.enqueue(db, 'traced', {}, { correlationId: 'req-4242' });
    await expect.poll(async () => (await jobs())[0]?.state, { timeout: 10_000 }).toBe('completed');
    await expect.poll(() => lines.filter((line) => line.job_type === 'traced').length).toBeGreaterThanOrEqual(3);
    const jobLines = lines.filter((line) => line.job_type === 'traced');
    expect(jobLines.map((line) => line.msg)).toEqual(expect.arrayContaining(['step one', 'step two', 'job completed']));
    for (const line of jobLines) expect(line.correlation_id).toBe('req-4242');
  });

  it('takes back the job of a worker that stopped renewing its lease, and runs it elsewhere', async () => {
    const { db, queue, effects, start, jobs } = await setup();
    await queue.enqueue(db, 'charge', { order: 7 });
    // A worker claims it and dies (no renewals, no completion).
    expect(await jobStore(db).claim('ghost', ['charge'], 1, 300)).toHaveLength(1);
    await start([{ type: 'charge', run: async () => void effects.push('charged') }]);
    await expect.poll(async () => (await jobs())[0]?.state, { timeout: 10_000 }).toBe('completed');
    expect((await jobs())[0]).toMatchObject({ attempts: 2, locked_by: null });
    expect(effects).toEqual(['charged']);
  });

  it('counts the attempt of a worker that died as lost, once, and the run that took the job back as completed', async () => {
    const { db, queue, start, jobs } = await setup();
    const metrics = createMetrics();
    const processed = async () => {
      const values = (await metrics.registry.getSingleMetric('jobs_processed_total')?.get())?.values ?? [];
      return Object.fromEntries(values.filter((v) => v.labels.type === 'charge').map((v) => [v.labels.outcome, v.value]));
    };
    await queue.enqueue(db, 'charge', { order: 8 });
    // A worker claims it and is killed: no renewal, no outcome of its own.
    expect(await jobStore(db).claim('killed', ['charge'], 1, 300)).toHaveLength(1);
    await start([{ type: 'charge', run: async () => undefined }], { metrics });
    await expect.poll(async () => (await jobs())[0]?.state, { timeout: 10_000 }).toBe('completed');
    expect(await processed()).toEqual({ lost: 1, completed: 1 });
  });

  it('tells its dead-job observer of a job that failed its last attempt, with the error, and of one whose worker died on its last attempt', async () => {
    const { db, start } = await setup();
    const dead: Array<{ job: DeadJob; error: unknown }> = [];
    const definitions: JobDefinition[] = [
      { type: 'flaky', maxAttempts: 2, backoffMs: 10, run: async () => Promise.reject(new Error('card declined')) },
      { type: 'orphaned', maxAttempts: 1, run: async () => undefined },
    ];
    const queue = createJobQueue({ definitions });
    const { id: failedId } = await queue.enqueue(db, 'flaky', {}, { correlationId: 'order-9' });
    // Claimed on its one attempt by a worker that is then killed: no renewal, no outcome.
    const { id: orphanId } = await queue.enqueue(db, 'orphaned', {}, { correlationId: 'order-10' });
    expect(await jobStore(db).claim('killed', ['orphaned'], 1, 300)).toHaveLength(1);
    await start(definitions, { leaseMs: 300, onDead: (job, error) => void dead.push({ job, error }) });
    await expect.poll(() => dead.length, { timeout: 10_000 }).toBe(2);
    expect(dead.find((d) => d.job.type === 'flaky')).toMatchObject({ job: { id: failedId, attempt: 2, correlationId: 'order-9' }, error: { message: 'card declined' } });
    expect(dead.find((d) => d.job.type === 'orphaned')).toEqual({ job: { type: 'orphaned', id: orphanId, correlationId: 'order-10' }, error: undefined });
  });

  it('on stop, lets running jobs finish within the grace period and hands back the rest', async () => {
    const { db, queue, start, jobs } = await setup();
    const worker = await start([
      {
        type: 'nap',
        run: async (payload, context) =>
          new Promise<void>((resolve, reject) => {
            const timer = setTimeout(resolve, (payload as { ms: number }).ms);
            context.signal.addEventListener('abort', () => {
              clearTimeout(timer);
              reject(context.signal.reason as Error);
            });
          }),
      },
    ]);
    await queue.enqueue(db, 'nap', { ms: 300 });
    await queue.enqueue(db, 'nap', { ms: 60_000 });
    await expect.poll(async () => (await jobs()).filter((job) => job.state === 'active').length, { timeout: 10_000 }).toBe(2);

    expect(await worker.stop(1_500)).toBe(false);
    const states = (await jobs()).map((job) => [job.payload, job.state, job.attempts]);
    expect(states).toEqual([
      [{ ms: 300 }, 'completed', 1],
      // Cut off by the shutdown: back in the queue, the interrupted attempt not counted.
      [{ ms: 60_000 }, 'queued', 0],
    ]);
  });

  it('runs a cron schedule once per tick across several workers', async () => {
    const { db, start, jobs } = await setup();
    const ticks: string[] = [];
    const definition: JobDefinition = { type: 'every-second', schedule: '* * * * * *', run: async (payload) => void ticks.push((payload as { tick: string }).tick) };
    await start([definition], { workerId: 'a' });
    await start([definition], { workerId: 'b' });
    await start([definition], { workerId: 'c' });
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    await expect.poll(async () => (await jobs()).every((job) => job.state === 'completed'), { timeout: 5_000 }).toBe(true);
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    expect(new Set(ticks).size).toBe(ticks.length);
    expect((await jobs()).length).toBe(ticks.length);
    await db.deleteFrom('jobs').execute();
  });
});
