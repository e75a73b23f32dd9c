import { sql } from 'kysely';
import type { ScheduledJob } from '../../platform/leader/scheduler.js';
import type { Db } from './store.js';

export interface PrunedAuthRows {
  mfaChallenges: number;
  passwordResets: number;
  signupVerifications: number;
  sessions: number;
}

const HOUR_MS = 3_600_000;
// Short statements: each holds its row locks only for one batch.
const BATCH = 1_000;

/** The auth housekeeping the scheduler runs on the leader, hourly. */
export function authMaintenanceJobs(db: Db, everyMs = HOUR_MS): ScheduledJob[] {
  return [{ name: 'auth.prune-expired', everyMs, run: async () => void (await pruneExpiredAuthRows(db)) }];
}

/**
 * Deletes what can no longer be used and has been dead for more than a day (on the database
 * clock): MFA challenges, password resets and pending sign-ups past expiry or used, and whole sessions that are
 * revoked or whose every refresh token has expired (their tokens go with them by cascade).
 * Single refresh tokens are never deleted on their own: `parent_id` cascades, so deleting an
 * old link would take the live tokens rotated from it.
 */
export async function pruneExpiredAuthRows(db: Db): Promise<PrunedAuthRows> {
  const dayAgo = sql<Date>`now() - interval '1 day'`;
  const mfaChallenges = await inBatches(() =>
    db
      .deleteFrom('mfa_challenges')
      .where('id', 'in', (eb) => eb.selectFrom('mfa_challenges').select('id').where('expires_at', '<', dayAgo).limit(BATCH))
      .executeTakeFirst(),
  );
  const passwordResets = await inBatches(() =>
    db
      .deleteFrom('password_resets')
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('password_resets')
          .select('id')
          .where((w) => w.or([w('expires_at', '<', dayAgo), w('used_at', '<', dayAgo)]))
          .limit(BATCH),
      )
      .executeTakeFirst(),
  );
  const signupVerifications = await inBatches(() =>
    db
      .deleteFrom('signup_verifications')
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('signup_verifications')
          .select('id')
          .where((w) => w.or([w('expires_at', '<', dayAgo), w('used_at', '<', dayAgo)]))
          .limit(BATCH),
      )
      .executeTakeFirst(),
  );
  const sessions = await inBatches(() =>
    db
      .deleteFrom('sessions')
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('sessions as s')
          .select('s.id')
          .where((w) =>
            w.or([
              w('s.revoked_at', '<', dayAgo),
              w.and([
                w('s.created_at', '<', dayAgo),
                w.not(w.exists(w.selectFrom('refresh_tokens as t').select('t.id').whereRef('t.session_id', '=', 's.id').where('t.expires_at', '>=', dayAgo))),
              ]),
            ]),
          )
          .limit(BATCH),
      )
      .executeTakeFirst(),
  );
  return { mfaChallenges, passwordResets, signupVerifications, sessions };
}

async function inBatches(deleteBatch: () => Promise<{ numDeletedRows: bigint }>): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = Number((await deleteBatch()).numDeletedRows);
    total += deleted;
    if (deleted < BATCH) return total;
  }
}
