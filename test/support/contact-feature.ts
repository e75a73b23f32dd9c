import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import type { Caller } from '../../src/features/auth/index.js';
import { createPermissionTable } from '../../src/features/auth/permissions.js';
import type { ContactFeature, SubmissionOutcome } from '../../src/features/contact/index.js';
import { createFieldKeyring } from '../../src/platform/crypto/field-keyring.js';
import type { DatabaseHandle } from '../../src/platform/db/database.js';
import { migrateUp } from '../../src/platform/db/migrations.js';
import type { EnqueueOptions, JobExecutor, JobQueue } from '../../src/platform/queue/job-types.js';

export interface EnqueueCall {
  executor: JobExecutor;
  type: string;
  payload: unknown;
  options: EnqueueOptions | undefined;
  /** Whether the message row was visible through the executor when the job was enqueued. */
  messageVisible: boolean;
}

/** A JobQueue that records what it is asked to write and can fail on demand; `createJobQueue` is the real one. */
export function recordingQueue(fail?: Error): JobQueue & { calls: EnqueueCall[] } {
  const calls: EnqueueCall[] = [];
  return {
    calls,
    async enqueue(executor, type, payload, options) {
      const messageId = (payload as { messageId?: string }).messageId ?? '';
      const row = await executor.selectFrom('contact_messages').select('id').where('id', '=', messageId).executeTakeFirst();
      calls.push({ executor, type, payload, options, messageVisible: row !== undefined });
      if (fail) throw fail;
      return { id: `job-${calls.length}`, created: true };
    },
  };
}

/** A logger whose lines are kept as raw JSON text, to check what reached it. */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

export const FIELD_KEYS = `contact-test:${Buffer.alloc(32, 7).toString('base64url')}`;

export interface ContactTestBed<Queue extends JobQueue> {
  feature: ContactFeature;
  queue: Queue;
  outcomes: SubmissionOutcome[];
  newTenant(name?: string): Promise<string>;
}

/** The contact feature on a migrated test database, with a recording queue and a fixed field key. */
export async function contactTestBed(handle: DatabaseHandle): Promise<ContactTestBed<ReturnType<typeof recordingQueue>>>;
export async function contactTestBed<Queue extends JobQueue>(handle: DatabaseHandle, queue: Queue): Promise<ContactTestBed<Queue>>;
export async function contactTestBed(handle: DatabaseHandle, queue: JobQueue = recordingQueue()): Promise<ContactTestBed<JobQueue>> {
  await migrateUp(handle);
  const outcomes: SubmissionOutcome[] = [];
  const feature: ContactFeature = {
    db: handle.db,
    fieldKeys: createFieldKeyring(FIELD_KEYS),
    queue,
    access: { db: handle.db, permissions: createPermissionTable() },
    countSubmission: (outcome) => void outcomes.push(outcome),
  };
  return {
    feature,
    queue,
    outcomes,
    async newTenant(name = 'example.com') {
      return (await handle.db.insertInto('tenants').values({ name }).returning('id').executeTakeFirstOrThrow()).id;
    },
  };
}

export const memberOf = (tenantId: string, userId = '5b0f3f8e-1111-4aaa-8bbb-000000000001'): Caller => ({ kind: 'user', userId, tenantId, role: 'member', sessionId: 'session-1' });
export const apiKeyOf = (tenantId: string, keyId = '5b0f3f8e-2222-4aaa-8bbb-000000000002'): Caller => ({ kind: 'api_key', keyId, tenantId, scopes: ['contact:write'] });
