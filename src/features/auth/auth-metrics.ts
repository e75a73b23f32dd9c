import type { Metrics } from '../../platform/metrics/registry.js';

/**
 * Why a sign-in or a credential was refused. A fixed set, so `auth_failures_total` keeps a
 * bounded label; the answer to the caller stays the same whatever the reason (no enumeration).
 */
export const AUTH_FAILURE_REASONS = [
  'unknown_user',
  'bad_password',
  'disabled',
  'locked',
  'mfa_invalid',
  'mfa_token_invalid',
  'reset_token_invalid',
  'refresh_token_invalid',
  'access_token_invalid',
  'api_key_invalid',
] as const;
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

export interface AuthCounters {
  failure(reason: AuthFailureReason): void;
  /** A wrong TOTP or backup code. */
  mfaFailure(): void;
  /** A brute-force counter reached its lock: an account (`account`) or a client address (`ip`). */
  lockout(scope: 'account' | 'ip'): void;
}

/** For identities built without a metrics registry (tests, CLI commands). */
export const UNCOUNTED: AuthCounters = { failure() {}, mfaFailure() {}, lockout() {} };

export function authCounters(metrics: Metrics): AuthCounters {
  const failures = metrics.tally('auth_failures_total', 'Failed sign-ins and credential checks, by reason.', ['reason'], AUTH_FAILURE_REASONS.map((reason) => [reason]));
  const mfaFailures = metrics.tally('auth_mfa_failures_total', 'Wrong TOTP or backup codes.', [], [[]]);
  const lockouts = metrics.tally('auth_lockouts_total', 'Brute-force locks: an account or a client address reached its failure limit.', ['scope'], [['account'], ['ip']]);
  return { failure: failures, mfaFailure: mfaFailures, lockout: lockouts };
}
