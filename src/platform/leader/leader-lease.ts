import { performance } from 'node:perf_hooks';
import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Tables } from '../db/tables.js';

export const DEFAULT_LEASE_MS = 15_000;

export interface LeaderElectionOptions {
  db: Kysely<Tables>;
  /** The elected role, e.g. `scheduler`; one leader per name. */
  name: string;
  /** Unique per process (hostname, pid and a random part); it is stored, never a secret. */
  holderId: string;
  leaseMs?: number;
  logger: Pick<Logger, 'info' | 'warn'>;
  /** Called on every change of leadership here, with the new token when elected. */
  onChange?: (leader: boolean, fencingToken: bigint | undefined) => void;
}

export interface LeaderElection {
  readonly name: string;
  readonly holderId: string;
  /** True only while the lease this instance last won has surely not expired. */
  isLeader(): boolean;
  /** The token of the lease held now; undefined when not the leader. */
  fencingToken(): bigint | undefined;
  /** Stops renewing and releases the lease, so another instance takes over at once. */
  stop(): Promise<void>;
}

/**
 * Acquires the lease when it is free or expired, or renews it when this instance holds it,
 * in one statement on the database clock. The token moves only when the holder changes.
 * Returns the token held after the statement, or undefined when someone else holds the lease.
 */
export async function acquireOrRenewLease(db: Kysely<Tables>, name: string, holderId: string, leaseMs: number): Promise<bigint | undefined> {
  const row = await db
    .insertInto('leader_leases')
    .values({ name, holder: holderId, fencing_token: '1', expires_at: sql<Date>`now() + make_interval(secs => ${leaseMs / 1000})` })
    .onConflict((oc) =>
      oc
        .column('name')
        .doUpdateSet({
          holder: (eb) => eb.ref('excluded.holder'),
          fencing_token: sql<string>`case when leader_leases.holder = excluded.holder then leader_leases.fencing_token else leader_leases.fencing_token + 1 end`,
          expires_at: (eb) => eb.ref('excluded.expires_at'),
        })
        .where((eb) => eb.or([eb('leader_leases.expires_at', '<', sql<Date>`now()`), eb('leader_leases.holder', '=', holderId)])),
    )
    .returning('fencing_token')
    .executeTakeFirst();
  return row ? BigInt(row.fencing_token) : undefined;
}

/** Ends this holder's lease now; the row (and its token) stays so tokens keep growing. */
export async function releaseLease(db: Kysely<Tables>, name: string, holderId: string): Promise<void> {
  await db
    .updateTable('leader_leases')
    .set({ expires_at: sql<Date>`now() - interval '1 millisecond'` })
    .where('name', '=', name)
    .where('holder', '=', holderId)
    .execute();
}

/**
 * Campaigns for `name` every lease/3. Leadership is judged on the local monotonic clock from
 * the moment the winning statement was sent, so a renewal that fails (database down) or a
 * process paused past its lease demotes this instance before anyone else can be elected.
 * Resolves after the first attempt.
 */
export async function startLeaderElection(options: LeaderElectionOptions): Promise<LeaderElection> {
  const { db, name, holderId, logger, onChange } = options;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  let token: bigint | undefined;
  let validUntil = 0;
  let announced = false;
  let stopped = false;
  let attempt: Promise<void> | undefined;

  const leading = () => token !== undefined && performance.now() < validUntil;

  const announce = () => {
    const now = leading();
    if (now === announced) return;
    announced = now;
    if (now) logger.info({ election: name, holder: holderId, fencing_token: String(token) }, 'elected leader');
    else logger.info({ election: name, holder: holderId }, 'no longer the leader');
    onChange?.(now, now ? token : undefined);
  };

  const campaign = async () => {
    const sentAt = performance.now();
    try {
      const won = await acquireOrRenewLease(db, name, holderId, leaseMs);
      if (stopped) return;
      token = won;
      validUntil = won === undefined ? 0 : sentAt + leaseMs;
    } catch (err) {
      // Keep the token: the lease may still be ours until validUntil; `leading()` ends it then.
      logger.warn({ err, election: name }, 'could not renew the leader lease; will retry');
    }
    announce();
  };

  const tick = () => {
    if (stopped || attempt) return;
    attempt = campaign().finally(() => {
      attempt = undefined;
    });
  };

  tick();
  await attempt;
  const timer = setInterval(tick, Math.max(50, Math.floor(leaseMs / 3)));
  timer.unref();

  return {
    name,
    holderId,
    isLeader: leading,
    fencingToken: () => (leading() ? token : undefined),
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await attempt;
      token = undefined;
      validUntil = 0;
      announce();
      // Unconditional: an attempt still in flight when stop was called may have just won.
      await releaseLease(db, name, holderId).catch((err: unknown) => logger.warn({ err, election: name }, 'could not release the leader lease; it expires by itself'));
    },
  };
}
