import type { FieldKeyring } from '../../platform/crypto/field-keyring.js';
import type { JobQueue } from '../../platform/queue/job-types.js';
import type { AccessControl } from '../auth/index.js';
import type { Db } from './store.js';

export type SubmissionOutcome = 'stored' | 'honeypot';

/** What the contact routes share, built once in the composition root. */
export interface ContactFeature {
  db: Db;
  /** The platform's field keys (FIELD_ENCRYPTION_KEYS), swapped live on rotation. */
  fieldKeys: FieldKeyring;
  /** Where the inbox notification is enqueued, in the transaction that stores the message. */
  queue: JobQueue;
  /** Roles and permissions, to decide who may read the messages (the auth feature's Identity fits). */
  access: AccessControl;
  /** Counts each accepted submission by outcome, for /metrics. */
  countSubmission(outcome: SubmissionOutcome): void;
}
