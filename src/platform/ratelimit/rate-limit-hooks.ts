import { createHash, createHmac } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Limiter, Verdict } from './limiter.js';
import type { Decision } from './store.js';

/**
 * Route config of a route with a budget of its own, counted per client IP instead of the
 * `api` tier: `config: { rateLimit: { tier: 'auth', account } }` for sign-in style routes,
 * `{ tier: 'contact' }` for contact messages. Each tier is its own budget.
 */
export interface RouteRateLimit {
  tier: RouteTier;
  /** The account the attempt targets (e.g. the body's email), raw; it is normalised and hashed here. */
  account?: (request: FastifyRequest) => string | undefined;
}

export type RouteTier = 'auth' | 'contact';
const ROUTE_TIERS: ReadonlySet<string> = new Set<RouteTier>(['auth', 'contact']);

declare module 'fastify' {
  interface FastifyContextConfig {
    rateLimit?: RouteRateLimit;
  }
  interface FastifyRequest {
    /** The most restrictive decision so far; its numbers are the RateLimit-* headers. */
    rateLimitDecision: Decision | null;
  }
}

/** Sends a problem+json answer; `sendProblem` from the http platform fits as is. */
export type Refuse = (reply: FastifyReply, status: number, slug: 'rate-limited' | 'rate-limit-unavailable', detail: string) => FastifyReply;

export interface RateLimitHooksOptions {
  limiter: Limiter;
  /** Requests never limited (health probes, static assets). */
  exempt?: (request: FastifyRequest) => boolean;
  /** `user:<id>` / `key:<id>` for an authenticated caller; undefined falls back to the client IP. */
  principalKey: (request: FastifyRequest) => string | undefined;
  refuse: Refuse;
  /** Keys the account hash (HMAC-SHA-256), so the Redis keys cannot be matched against a list of addresses. Unset: plain SHA-256. */
  accountKeySecret?: string;
  /** Retry-After of the 503 a fail-closed tier answers while the store is unavailable. */
  unavailableRetryAfterS?: number;
}

const isApiPath = (url: string) => url.startsWith('/v1/') || url === '/v1' || url.startsWith('/v1?');

/**
 * Tiers, in the order a request meets them: `global` (every non-exempt request, per IP) and
 * `general` (outside `/v1/`, per IP) on onRequest; on preValidation, after authentication
 * has set the principal and the body is parsed, the route's own tier (`auth`: per IP and per
 * account; `contact`: per IP) for routes that name one, else `api` on `/v1/*` routes (per principal); a request no route matches
 * (a 404) meets only the per-IP tiers. Client identity is `request.ip`, which Fastify
 * derives through the trusted proxies only.
 */
export const rateLimitHooks = fp(
  async (app: FastifyInstance, options: RateLimitHooksOptions) => {
    const { limiter, refuse, principalKey } = options;
    const exempt = options.exempt ?? (() => false);
    const unavailableRetryAfter = String(options.unavailableRetryAfterS ?? 5);
    const hashAccount = (account: string) => {
      const normalised = account.normalize('NFKC').trim().toLowerCase();
      const digest = options.accountKeySecret ? createHmac('sha256', options.accountKeySecret) : createHash('sha256');
      return digest.update(normalised).digest('base64url').slice(0, 22);
    };

    app.decorateRequest('rateLimitDecision', null);

    // Refuses the request when a verdict says so (the first such tier answers); otherwise the
    // most restrictive decision so far becomes the RateLimit-* headers, set once.
    const apply = (request: FastifyRequest, reply: FastifyReply, verdicts: readonly Verdict[]): FastifyReply | undefined => {
      let headline = request.rateLimitDecision;
      for (const verdict of verdicts) {
        const { decision } = verdict;
        if (!decision) {
          if (verdict.outcome === 'failed_open') continue;
          reply.header('retry-after', unavailableRetryAfter);
          return refuse(reply, 503, 'rate-limit-unavailable', `Rate limits cannot be checked right now; retry after ${unavailableRetryAfter} seconds.`);
        }
        if (!decision.allowed) {
          request.rateLimitDecision = decision;
          setHeaders(reply, decision);
          const retryAfter = Math.max(1, Math.ceil(decision.resetMs / 1000));
          reply.header('retry-after', String(retryAfter));
          return refuse(reply, 429, 'rate-limited', `Rate limit of ${decision.limit} requests reached; retry after ${retryAfter} seconds.`);
        }
        if (!headline || moreRestrictive(decision, headline)) headline = decision;
      }
      if (headline && headline !== request.rateLimitDecision) {
        request.rateLimitDecision = headline;
        setHeaders(reply, headline);
      }
      return undefined;
    };

    // One request against several tiers, decided together: none is charged unless all have room.
    const enforce = async (request: FastifyRequest, reply: FastifyReply, checks: Array<{ tier: string; identity: string }>) => {
      const active = checks.filter(({ tier }) => limiter.tier(tier));
      if (active.length === 0) return undefined;
      return apply(request, reply, await limiter.checkAll(active));
    };

    // The per-IP tiers every request meets, resolved once: this hook runs on every request.
    const hasGlobal = limiter.tier('global') !== undefined;
    const hasGeneral = limiter.tier('general') !== undefined;
    // Callback style: an async hook would add a promise and a resumption to every request.
    // Calling done() after a refusal is safe: Fastify stops at a sent reply.
    app.addHook('onRequest', (request, reply, done) => {
      if (exempt(request)) return done();
      const ip = `ip:${request.ip}`;
      const checks: Array<{ tier: string; identity: string }> = [];
      if (hasGlobal) checks.push({ tier: 'global', identity: ip });
      if (hasGeneral && !isApiPath(request.url)) checks.push({ tier: 'general', identity: ip });
      if (checks.length === 0) return done();
      limiter.checkAll(checks).then((verdicts) => {
        try {
          apply(request, reply, verdicts);
        } catch (error) {
          return done(error as Error);
        }
        done();
      }, done);
    });

    // The per-route tiers run on preValidation, after authentication has set the principal
    // and the body is parsed. They are attached to the routes that have one (routes naming a
    // tier, and /v1/*) as each is registered, so every other route carries no hook for them at all.
    const routeTier = (route: RouteRateLimit) => async (request: FastifyRequest, reply: FastifyReply) => {
      if (reply.sent) return;
      const ip = `ip:${request.ip}`;
      // One budget per request class: these routes count here, not against the api tier.
      // Runs before body validation: whatever the route hands back may not be a string.
      const account: unknown = route.account?.(request);
      const checks = [{ tier: route.tier, identity: ip }];
      if (typeof account === 'string' && account.trim() !== '') checks.push({ tier: route.tier, identity: `account:${hashAccount(account)}` });
      return enforce(request, reply, checks);
    };
    const apiTier = async (request: FastifyRequest, reply: FastifyReply) => {
      if (exempt(request) || reply.sent) return;
      return enforce(request, reply, [{ tier: 'api', identity: principalKey(request) ?? `ip:${request.ip}` }]);
    };
    app.addHook('onRoute', (route) => {
      const limit = route.config?.rateLimit;
      if (limit && !ROUTE_TIERS.has(limit.tier)) throw new Error(`route ${route.method} ${route.url}: unknown rate-limit tier ${String(limit.tier)}`);
      const hook = limit ? routeTier(limit) : isApiPath(route.url) ? apiTier : undefined;
      if (!hook) return;
      // First among the route's own preValidation hooks: a refused permission still counts.
      const own = route.preValidation === undefined ? [] : Array.isArray(route.preValidation) ? route.preValidation : [route.preValidation];
      route.preValidation = [hook, ...own];
    });
  },
  { name: 'rampart-rate-limits' },
);

function moreRestrictive(candidate: Decision, current: Decision): boolean {
  return candidate.remaining < current.remaining || (candidate.remaining === current.remaining && candidate.resetMs > current.resetMs);
}

// IETF draft-ietf-httpapi-ratelimit-headers: Reset is delta-seconds.
function setHeaders(reply: FastifyReply, decision: Decision): void {
  reply.header('ratelimit-limit', String(decision.limit));
  reply.header('ratelimit-remaining', String(decision.remaining));
  reply.header('ratelimit-reset', String(Math.ceil(decision.resetMs / 1000)));
}
