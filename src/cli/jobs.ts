import type { JobState } from '../platform/db/tables.js';
import { isUuid } from '../platform/db/uuid.js';
import { jobAdmin } from '../platform/queue/job-admin.js';
import { CliExit, EXIT, openCommandDatabase, resolveConfig } from './bootstrap.js';

export interface JobsListOptions {
  state: string;
  type?: string;
  limit: string;
  json?: boolean;
}
export interface JobsRetryOptions {
  all?: boolean;
  type?: string;
}
export interface JobsPurgeOptions {
  type?: string;
  olderThanDays: string;
}

const STATES: readonly JobState[] = ['queued', 'active', 'completed', 'dead'];

/** `rampart jobs list`: counts by type and state, then the jobs of one state. */
export async function jobsListCommand(options: JobsListOptions, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const state = options.state as JobState;
  if (!STATES.includes(state)) throw usage(`--state must be one of ${STATES.join(', ')}`);
  const limit = wholeNumber(options.limit, '--limit', 1, 10_000);
  await withAdmin(async (admin) => {
    const counts = await admin.counts();
    const jobs = await admin.list({ state, type: options.type, limit });
    if (options.json) {
      out.write(`${JSON.stringify({ counts, jobs }, null, 2)}\n`);
      return;
    }
    out.write(counts.length === 0 ? 'the queue is empty\n' : counts.map((c) => `${c.type.padEnd(32)} ${c.state.padEnd(10)} ${c.count}\n`).join(''));
    out.write(`\n${state} jobs${options.type ? ` of ${options.type}` : ''}: ${jobs.length === 0 ? 'none' : ''}\n`);
    for (const job of jobs) {
      const error = job.last_error ? `  ${job.last_error.split('\n')[0]!.slice(0, 120)}` : '';
      out.write(`${job.id}  ${job.type}  attempts ${job.attempts}/${job.max_attempts}  created ${job.created_at.toISOString()}${error}\n`);
    }
  });
}

/** `rampart jobs retry ID… | --all [--type T]`: dead jobs back to the queue. */
export async function jobsRetryCommand(ids: string[], options: JobsRetryOptions, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  if (ids.length === 0 && !options.all) throw usage('give job ids, or --all');
  if (ids.length > 0 && options.all) throw usage('give job ids or --all, not both');
  const malformed = ids.filter((id) => !isUuid(id));
  if (malformed.length > 0) throw usage(`not a job id: ${malformed.join(', ')}`);
  await withAdmin(async (admin) => {
    const moved = await admin.retry(options.all ? { all: true, type: options.type } : { ids });
    out.write(`${moved.length} job(s) back in the queue\n`);
    const missed = ids.filter((id) => !moved.includes(id.toLowerCase()));
    if (missed.length > 0) {
      out.write(`not dead-lettered (or unknown), left alone: ${missed.join(', ')}\n`);
      throw new CliExit(EXIT.failure, []);
    }
  });
}

/** `rampart jobs purge-dlq [--type T] [--older-than-days N]`. */
export async function jobsPurgeCommand(options: JobsPurgeOptions, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const olderThanDays = wholeNumber(options.olderThanDays, '--older-than-days', 0, 36_500);
  await withAdmin(async (admin) => {
    const purged = await admin.purgeDead({ type: options.type, olderThanDays });
    out.write(`${purged} dead job(s) deleted\n`);
  });
}

async function withAdmin(work: (admin: ReturnType<typeof jobAdmin>) => Promise<void>): Promise<void> {
  const config = await resolveConfig();
  const database = await openCommandDatabase(config);
  try {
    await work(jobAdmin(database.db));
  } finally {
    await database.close();
  }
}

function wholeNumber(value: string, flag: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw usage(`${flag} must be a whole number from ${min} to ${max}`);
  return n;
}

function usage(message: string): CliExit {
  return new CliExit(EXIT.badConfig, [`rampart jobs: ${message}`]);
}
