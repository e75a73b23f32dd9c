import type { ProviderStatus } from './secret-store.js';

/**
 * The `secrets` entry of `/readiness`: each provider's state and how long ago it was last
 * read successfully. Names and ages only; values, versions and paths never appear here.
 */
export function secretsReadiness(statuses: readonly ProviderStatus[], now = Date.now()) {
  const failing = statuses.filter((s) => !s.ok).map((s) => s.name);
  return {
    configured: statuses.length > 0,
    ok: failing.length === 0,
    details: failing.length === 0 ? 'ok' : `error: ${failing.join(', ')} failing; last values kept`,
    providers: statuses.map((s) => ({
      name: s.name,
      status: s.ok ? 'ok' : 'failing',
      last_refresh_age_s: s.lastSuccessAt ? Math.round((now - s.lastSuccessAt.getTime()) / 1000) : null,
    })),
  };
}
