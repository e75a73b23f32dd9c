import type { Decision, RateLimitStore } from './store.js';

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
  tier(name: string): Tier | undefined;
}

const TIMED_OUT = Symbol('timed out');

export function createLimiter(options: LimiterOptions): Limiter {
  for (const tier of Object.values(options.tiers)) {
    if (!(Number.isInteger(tier.limit) && tier.limit >= 1 && tier.windowMs >= 1)) throw new Error(`rate-limit tier ${tier.name}: limit and window must be ≥ 1`);
  }
  const { store, timeoutMs, onDecision } = options;

  const decide = async (tier: Tier, identity: string): Promise<Decision | typeof TIMED_OUT> => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), timeoutMs);
    });
    try {
      return await Promise.race([store.hit(`${tier.name}:${identity}`, tier.limit, tier.windowMs), deadline]);
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    tier: (name) => options.tiers[name],
    async check(name, identity) {
      const tier = options.tiers[name];
      if (!tier) throw new Error(`unknown rate-limit tier ${name}`);
      let verdict: Verdict;
      try {
        const decision = await decide(tier, identity);
        if (decision === TIMED_OUT) throw new Error('rate-limit store timed out');
        verdict = { outcome: decision.allowed ? 'allowed' : 'limited', tier, decision };
      } catch {
        // A hit that times out may still land in the store later; it then counts against the
        // client, which errs on the safe side.
        verdict = { outcome: tier.failMode === 'open' ? 'failed_open' : 'failed_closed', tier };
      }
      onDecision?.(tier.name, verdict.outcome);
      return verdict;
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
