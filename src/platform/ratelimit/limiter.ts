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
  // costs more than the rest of the check on a busy instance. A check leaves its set as it
  // settles: held until the deadline, every request's state would live long enough to
  // survive young-generation GCs and be copied into the old generation (measured: most of
  // the limiter's cost under load).
  type Settle = (result: unknown) => void;
  let deadline: { at: number; waiting: Set<Settle> } | undefined;
  const waitingUntilDeadline = (): Set<Settle> => {
    const now = Date.now();
    if (deadline?.at !== now) {
      const waiting = new Set<Settle>();
      // +1: a deadline shared since the start of this millisecond never fires early.
      setTimeout(() => {
        for (const settle of waiting) settle(undefined);
      }, timeoutMs + 1).unref();
      deadline = { at: now, waiting };
    }
    return deadline.waiting;
  };

  // Runs on every request: index loops, one promise and one closure, no Promise.race.
  const checkAll: Limiter['checkAll'] = (checks) => {
    const tiers: Tier[] = [];
    const hits: Hit[] = [];
    for (let i = 0; i < checks.length; i++) {
      const check = checks[i]!;
      const tier = options.tiers[check.tier];
      if (!tier) throw new Error(`unknown rate-limit tier ${check.tier}`);
      tiers.push(tier);
      hits.push({ key: `${tier.name}:${check.identity}`, limit: tier.limit, windowMs: tier.windowMs });
    }
    return new Promise<Verdict[]>((resolve) => {
      const waiting = waitingUntilDeadline();
      // Called with the store's decisions, its error, or nothing at the deadline; only the
      // first call counts (the check is then no longer waiting).
      const settle: Settle = (result) => {
        if (!waiting.delete(settle)) return;
        // A hit that times out may still land in the store later; it then counts against the
        // client, which errs on the safe side.
        const decisions = Array.isArray(result) ? (result as Decision[]) : undefined;
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
      waiting.add(settle);
      // A store that throws instead of rejecting still yields a verdict (its fail mode).
      try {
        store.hitAll(hits).then(settle, settle);
      } catch (error) {
        settle(error);
      }
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
  rateLimitContactPerMin: number;
  rateLimitGlobalPer5Min: number;
  rateLimitFailOpenTiers: readonly string[];
}

export type TierName = 'global' | 'general' | 'api' | 'auth' | 'contact';

export function rateLimitTiers(settings: RateLimitSettings): Record<TierName, Tier> {
  const failMode = (name: TierName): FailMode => (settings.rateLimitFailOpenTiers.includes(name) ? 'open' : 'closed');
  const tier = (name: TierName, limit: number, windowMs: number): Tier => ({ name, limit, windowMs, failMode: failMode(name) });
  return {
    global: tier('global', settings.rateLimitGlobalPer5Min, 300_000),
    general: tier('general', settings.rateLimitGeneralPerMin, 60_000),
    api: tier('api', settings.rateLimitApiPerMin, 60_000),
    auth: tier('auth', settings.rateLimitAuthPerMin, 60_000),
    contact: tier('contact', settings.rateLimitContactPerMin, 60_000),
  };
}
