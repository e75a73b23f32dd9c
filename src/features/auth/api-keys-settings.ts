import { hkdfSync } from 'node:crypto';
import type { Config } from '../../config/schema.js';
import type { ApiKeyEnv } from './primitives/api-key-format.js';

/** How this instance mints and hashes API keys. */
export interface ApiKeySettings {
  /** `live` (`rk_live_…`) in production, `test` (`rk_test_…`) in development. */
  env: ApiKeyEnv;
  /** The HMAC key of `hashApiKey`; without it a stolen table of hashes is useless. */
  pepper: Buffer;
  /** How long a rotated key's predecessor keeps working. */
  rotationOverlapS: number;
}

// Derived from APP_SECRET for now (docs/decisions.md): step 4 makes the pepper a secret of
// its own, so rotating APP_SECRET will no longer invalidate every API key.
export function deriveApiKeyPepper(appSecret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', appSecret, 'rampart', 'api-key-pepper', 32));
}

export function apiKeySettings(appSecret: string, env: Config['env'], rotationOverlapS: number): ApiKeySettings {
  return { env: env === 'production' ? 'live' : 'test', pepper: deriveApiKeyPepper(appSecret), rotationOverlapS };
}
