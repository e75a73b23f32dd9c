import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql, type Kysely } from 'kysely';
import type { Tables } from '../../platform/db/tables.js';
import { acquireOrRenewLease, releaseLease } from '../../platform/leader/leader-lease.js';

// Backups, prunes and drills run one at a time across all workers: they share one lease in
// PostgreSQL. A tick whose own previous run still holds it is dropped (a second backup queued
// behind a slow one only adds load). A tick that finds another operation running waits for it:
// skipping would lose a daily drill whenever a long hourly backup overlaps its minute.

const LEASE = 'backups';
const LEASE_MS = 60_000;
const WAIT_POLL_MS = 1_000;
const RELEASE_RETRY_MS = 2_000;

export type LeaseOutcome = { ran: true } | { ran: false; reason: 'same-operation-running' | 'aborted' };

export interface BackupLeaseOptions {
  db: Kysely<Tables>;
  /** Aborts the wait (the job's timeout or the worker's shutdown). */
  signal: AbortSignal;
  /** Told once, when the run has to wait for another operation. */
  onWait?: (holder: string) => void;
  pollMs?: number;
}

export async function runExclusively(operation: string, work: () => Promise<void>, options: BackupLeaseOptions): Promise<LeaseOutcome> {
  const { db, signal } = options;
  const holder = `${operation}@${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  let told = false;
  while ((await acquireOrRenewLease(db, LEASE, holder, LEASE_MS)) === undefined) {
    const current = await currentHolder(db);
    if (current?.startsWith(`${operation}@`)) return { ran: false, reason: 'same-operation-running' };
    if (!told && current !== undefined) {
      options.onWait?.(current.includes('@') ? current.slice(0, current.indexOf('@')) : 'another run');
      told = true;
    }
    try {
      await sleep(options.pollMs ?? WAIT_POLL_MS, undefined, { signal });
    } catch {
      return { ran: false, reason: 'aborted' };
    }
  }
  const renew = setInterval(() => void acquireOrRenewLease(db, LEASE, holder, LEASE_MS).catch(() => undefined), LEASE_MS / 3);
  try {
    await work();
    return { ran: true };
  } finally {
    clearInterval(renew);
    await releaseLease(db, LEASE, holder).catch(() => releaseLater(db, holder));
  }
}

// The run ended while the database was away (the usual reason it failed): without a release the
// next ticks would wait out the whole lease. Retried in the background until the lease expires.
function releaseLater(db: Kysely<Tables>, holder: string): void {
  const deadline = Date.now() + LEASE_MS;
  const attempt = () => {
    if (Date.now() > deadline) return;
    releaseLease(db, LEASE, holder).catch(() => setTimeout(attempt, RELEASE_RETRY_MS).unref());
  };
  setTimeout(attempt, RELEASE_RETRY_MS).unref();
}

async function currentHolder(db: Kysely<Tables>): Promise<string | undefined> {
  const row = await db
    .selectFrom('leader_leases')
    .select('holder')
    .where('name', '=', LEASE)
    .where('expires_at', '>=', sql<Date>`now()`)
    .executeTakeFirst();
  return row?.holder;
}
