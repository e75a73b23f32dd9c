import { hkdfSync } from 'node:crypto';
import type { Config } from '../../config/schema.js';
import type { ApiKeyEnv } from './primitives/api-key-format.js';

/**
 * The HMAC keys of `hashApiKey`, newest first (API_KEY_PEPPER is a comma-separated list).
 * The first hashes new keys; the others still match, so a pepper rotation logs nobody out:
 * a key found under an older pepper is re-hashed under the current one on its next use.
 */
export interface PepperSet {
  current(): Buffer;
  /** Every pepper a stored hash may have been made with, current first. */
  all(): Buffer[];
  /** Swaps in a rotated API_KEY_PEPPER (from a secrets refresh). */
  replace(serialised: string): void;
}

/** How this instance mints and hashes API keys. */
export interface ApiKeySettings {
  /** `live` (`rk_live_…`) in production, `test` (`rk_test_…`) in development. */
  env: ApiKeyEnv;
  peppers: PepperSet;
  /** How long a rotated key's predecessor keeps working. */
  rotationOverlapS: number;
}

// Before step 4 the pepper was derived from APP_SECRET. It stays the last pepper tried, so
// keys issued then keep working and move to API_KEY_PEPPER on their next use.
export function deriveApiKeyPepper(appSecret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', appSecret, 'rampart', 'api-key-pepper', 32));
}

export function createPepperSet(serialised: string | undefined, legacy: Buffer): PepperSet {
  const parse = (text: string | undefined) => (text ?? '').split(',').map((p) => p.trim()).filter(Boolean).map((p) => Buffer.from(p));
  let configured = parse(serialised);
  return {
    current: () => configured[0] ?? legacy,
    all: () => [...configured, legacy],
    replace(next) {
      const parsed = parse(next);
      if (parsed.length > 0) configured = parsed;
    },
  };
}

export function apiKeySettings(appSecret: string, pepper: string | undefined, env: Config['env'], rotationOverlapS: number): ApiKeySettings {
  return { env: env === 'production' ? 'live' : 'test', peppers: createPepperSet(pepper, deriveApiKeyPepper(appSecret)), rotationOverlapS };
}
