import type { Decision, Hit, RateLimitStore } from './store.js';

export type FailMode = 'open' | 'closed';

export interface Tier {
  name: string;
  limit: number;
  windowMs: number;
  /** What a request gets when the store errs or is too slow: let through, or 503. */
  failMode: FailMode;
}

export type Outcome = 'allowed' | 'limited' | 'failed_open' | 'failed_closed';

export type Verdict =
  | { outcome: 'allowed' | 'limited'; tier: Tier; decision: Decision }
  | { outcome: 'failed_open' | 'failed_closed'; tier: Tier; decision?: undefined };

export interface LimiterOptions {
  store: RateLimitStore;
  tiers: Readonly<Record<string, Tier>>;
  /** A store slower than this (RATE_LIMIT_TIMEOUT_MS) counts as failed. */
  timeoutMs: number;
  /** Called once per check, e.g. to count outcomes in Prometheus. */
  onDecision?: (tier: string, outcome: Outcome) => void;
}

export interface Limiter {
  /** Counts one hit of `identity` against `tier`; never rejects. */
  check(tier: string, identity: string): Promise<Verdict>;
  /**
   * Counts one request against several tiers in one store call: recorded in all of them
   * when each has room, in none otherwise. Verdicts in the order given; never rejects.
   */
  checkAll(checks: ReadonlyArray<{ tier: string; identity: string }>): Promise<Verdict[]>;
  tier(name: string): Tier | undefined;
}

export function createLimiter(options: LimiterOptions): Limiter {
  for (const tier of Object.values(options.tiers)) {
    if (!(Number.isInteger(tier.limit) && tier.limit >= 1 && tier.windowMs >= 1)) throw new Error(`rate-limit tier ${tier.name}: limit and window must be ≥ 1`);
  }
  const { store, timeoutMs, onDecision } = options;

  // Checks started in the same millisecond share one deadline timer: a timer per request
  // costs more than the rest of the check on a busy instance. A settled check empties its
  // slot at once: the timer would otherwise keep every request's state alive for the whole
  // timeout, long enough to survive young-generation GCs and be copied into the old one.
  let deadline: { at: number; expire: Array<(() => void) | undefined> } | undefined;
  const atDeadline = (expire: () => void): (() => void) => {
    const now = Date.now();
    if (deadline?.at !== now) {
      const shared = { at: now, expire: [] as Array<(() => void) | undefined> };
      // +1: a deadline shared since the start of this millisecond never fires early.
      setTimeout(() => {
        for (const fn of shared.expire) fn?.();
      }, timeoutMs + 1).unref();
      deadline = shared;
    }
    const { expire: slots } = deadline;
    const slot = slots.push(expire) - 1;
    return () => {
      slots[slot] = undefined;
    };
  };

  // Runs on every request: plain loops and one promise, no Promise.race.
  const checkAll: Limiter['checkAll'] = (checks) => {
    const tiers: Tier[] = [];
    const hits: Hit[] = [];
    for (const { tier: name, identity } of checks) {
      const tier = options.tiers[name];
      if (!tier) throw new Error(`unknown rate-limit tier ${name}`);
      tiers.push(tier);
      hits.push({ key: `${tier.name}:${identity}`, limit: tier.limit, windowMs: tier.windowMs });
    }
    return new Promise<Verdict[]>((resolve) => {
      let settled = false;
      // The deadline fires long after settle is defined; settle runs asynchronously at the earliest.
      const cancelDeadline = atDeadline(() => settle(undefined));
      const settle = (decisions: Decision[] | undefined) => {
        if (settled) return;
        settled = true;
        cancelDeadline();
        // A hit that times out may still land in the store later; it then counts against the
        // client, which errs on the safe side.
        const verdicts: Verdict[] = [];
        for (let i = 0; i < tiers.length; i++) {
          const tier = tiers[i]!;
          const decision = decisions?.[i];
          const verdict: Verdict = decision
            ? { outcome: decision.allowed ? 'allowed' : 'limited', tier, decision }
            : { outcome: tier.failMode === 'open' ? 'failed_open' : 'failed_closed', tier };
          onDecision?.(tier.name, verdict.outcome);
          verdicts.push(verdict);
        }
        resolve(verdicts);
      };
      store.hitAll(hits).then(settle, () => settle(undefined));
    });
  };

  return {
    tier: (name) => options.tiers[name],
    checkAll,
    async check(tier, identity) {
      return (await checkAll([{ tier, identity }]))[0]!;
    },
  };
}

/** The configuration the tiers are made from (a subset of Rampart's Config). */
export interface RateLimitSettings {
  rateLimitGeneralPerMin: number;
  rateLimitApiPerMin: number;
  rateLimitAuthPerMin: number;
  rateLimitGlobalPer5Min: number;
  rateLimitFailOpenTiers: readonly string[];
}

export type TierName = 'global' | 'general' | 'api' | 'auth';

export function rateLimitTiers(settings: RateLimitSettings): Record<TierName, Tier> {
  const failMode = (name: TierName): FailMode => (settings.rateLimitFailOpenTiers.includes(name) ? 'open' : 'closed');
  const tier = (name: TierName, limit: number, windowMs: number): Tier => ({ name, limit, windowMs, failMode: failMode(name) });
  return {
    global: tier('global', settings.rateLimitGlobalPer5Min, 300_000),
    general: tier('general', settings.rateLimitGeneralPerMin, 60_000),
    api: tier('api', settings.rateLimitApiPerMin, 60_000),
    auth: tier('auth', settings.rateLimitAuthPerMin, 60_000),
  };
}
