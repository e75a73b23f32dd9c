import { createLocalJWKSet, errors as joseErrors, type CryptoKey, type FlattenedJWSInput, type JSONWebKeySet, type JWSHeaderParameters } from 'jose';
import type { Logger } from '../../platform/log/logger.js';
import { retryDelayMs } from '../../platform/queue/backoff.js';

/** The provider's JWKS could not be fetched and no keys are cached: a dependency failure (503), not a bad token. */
export class IdentityProviderUnavailable extends Error {}

export interface JwksSourceOptions {
  url: URL;
  /** OIDC_JWKS_CACHE_S in ms: keys older than this are fetched again (and used meanwhile). */
  cacheMaxAgeMs: number;
  timeoutMs?: number;
  /** An unknown kid fetches the set at most this often, so forged kids cannot hammer the provider. */
  unknownKidCooldownMs?: number;
  /** First wait after a failed fetch; doubles per failure, with jitter, up to `backoffMaxMs`. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  logger?: Logger;
  now?: () => number;
  random?: () => number;
}

/** Resolves a token's key, as `jwtVerify` takes it. */
export type JwksKeyResolver = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

export const JWKS_TIMEOUT_MS = 3_000;
export const JWKS_UNKNOWN_KID_COOLDOWN_MS = 30_000;
export const JWKS_BACKOFF_BASE_MS = 1_000;
export const JWKS_BACKOFF_MAX_MS = 60_000;

/**
 * The provider's keys, fetched once for every caller at a time and kept. While the endpoint
 * fails, fetches back off (exponential, capped, jittered) instead of following each request:
 * a struggling provider is not stampeded by every token that arrives. Cached keys keep being
 * used meanwhile, however old; without any, a request is refused at once with
 * `IdentityProviderUnavailable`. The first fetch after the wait that succeeds ends the outage.
 */
export function createJwksSource(options: JwksSourceOptions): JwksKeyResolver {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const timeoutMs = options.timeoutMs ?? JWKS_TIMEOUT_MS;
  const cooldownMs = options.unknownKidCooldownMs ?? JWKS_UNKNOWN_KID_COOLDOWN_MS;
  const baseMs = options.backoffBaseMs ?? JWKS_BACKOFF_BASE_MS;
  const maxMs = options.backoffMaxMs ?? JWKS_BACKOFF_MAX_MS;

  let keys: ReturnType<typeof createLocalJWKSet> | undefined;
  let fetchedAt = -Infinity;
  let lastAttemptAt = -Infinity;
  let failures = 0;
  let nextAttemptAt = -Infinity;
  let inFlight: Promise<void> | undefined;

  const fetchSet = async (): Promise<void> => {
    lastAttemptAt = now();
    try {
      const response = await fetch(options.url, { headers: { accept: 'application/json' }, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
      if (!response.ok) throw new Error(`answered ${response.status}`);
      const body = (await response.json()) as JSONWebKeySet;
      if (!Array.isArray(body?.keys)) throw new Error('answered something that is not a JWKS');
      keys = createLocalJWKSet(body);
      fetchedAt = now();
      if (failures > 0) options.logger?.info({ failed_fetches: failures }, 'the identity provider\'s JWKS can be fetched again');
      failures = 0;
      nextAttemptAt = -Infinity;
    } catch (error) {
      failures += 1;
      const waitMs = retryDelayMs(failures, baseMs, maxMs, random);
      nextAttemptAt = now() + waitMs;
      // The URL is configuration, not a secret; the reason is the provider's answer or the network's.
      const reason = error instanceof Error ? error.message : String(error);
      options.logger?.warn({ jwks_url: options.url.href, failed_fetches: failures, retry_in_ms: waitMs, reason, serving_cached_keys: keys !== undefined }, 'could not fetch the identity provider\'s JWKS');
    }
  };

  // One fetch at a time, shared by every request waiting on it; none while backing off.
  const refresh = (): Promise<void> => {
    if (inFlight) return inFlight;
    if (now() < nextAttemptAt) return Promise.resolve();
    inFlight = fetchSet().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };

  return async (header, token) => {
    if (!keys || now() - fetchedAt >= options.cacheMaxAgeMs) await refresh();
    if (!keys) throw new IdentityProviderUnavailable('the identity provider\'s JWKS could not be fetched');
    try {
      return await keys(header, token);
    } catch (error) {
      // A kid the set does not have may be a key the provider has just added.
      if (!(error instanceof joseErrors.JWKSNoMatchingKey) || now() - lastAttemptAt < cooldownMs) throw error;
      await refresh();
      return keys(header, token);
    }
  };
}
