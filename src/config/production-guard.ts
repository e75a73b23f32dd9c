import type { Config } from './schema.js';
import { configSchema } from './schema.js';

/** One unsafe setting: a stable id (`rampart doctor` reports it), the sentence and what to do. */
export interface UnsafeSetting {
  id: string;
  /** The setting and why it is unsafe, as production's refusal prints it. */
  problem: string;
  fix: string;
}

/**
 * Unsafe settings, one sentence each. Production refuses to start on any of them;
 * development logs them as warnings.
 */
export function unsafeSettings(config: Config): string[] {
  return unsafeSettingList(config).map((setting) => setting.problem);
}

/** The same rules with an id and a fix each, for reports that list rather than refuse. */
export function unsafeSettingList(config: Config): UnsafeSetting[] {
  const found: UnsafeSetting[] = [];
  if (config.databaseUrl === undefined) {
    found.push({ id: 'database-embedded', problem: 'DATABASE_URL is not set: the embedded PGlite database is for development only', fix: 'set DATABASE_URL to your PostgreSQL (postgres://…?sslmode=verify-full)' });
  }
  for (const name of config.generatedSecrets) {
    const env = configSchema[name as keyof typeof configSchema]?.env ?? name;
    found.push({ id: `secret-missing-${env.toLowerCase().replace(/_/g, '-')}`, problem: `${env} is not set: generated secrets are for development only`, fix: `give ${env} to a secrets provider (SECRETS_PROVIDERS: file, ssm or secretsmanager)` });
  }
  if (!config.forceHttps) found.push({ id: 'https-not-enforced', problem: 'FORCE_HTTPS is off: set FORCE_HTTPS=true behind your TLS-terminating proxy', fix: 'set FORCE_HTTPS=true and list the proxy in TRUSTED_PROXIES' });
  // Reset links and the console's __Host- cookies (Secure) only work over https.
  if (new URL(config.publicBaseUrl).protocol !== 'https:') found.push({ id: 'public-url-not-https', problem: 'PUBLIC_BASE_URL is not https: set the https address users reach Rampart at (mail links and browser cookies depend on it)', fix: 'set PUBLIC_BASE_URL=https://your-host' });
  if (config.corsOrigins.includes('*')) found.push({ id: 'cors-wildcard', problem: 'CORS_ORIGINS contains "*": list the allowed origins', fix: 'set CORS_ORIGINS to the exact origins of your web apps (https://app.example.com)' });
  if (config.docsEnabled && config.docsUser === undefined) found.push({ id: 'docs-public', problem: 'DOCS_ENABLED without DOCS_USER/DOCS_PASSWORD: API docs would be public', fix: 'set DOCS_USER and DOCS_PASSWORD, or DOCS_ENABLED=false' });
  if (config.authArgon2MemoryKib < 19_456 || config.authArgon2TimeCost < 2) found.push({ id: 'password-hashing-weak', problem: 'AUTH_ARGON2_MEMORY_KIB/AUTH_ARGON2_TIME_COST are below OWASP\'s minimum (19456 KiB, 2 iterations)', fix: 'unset AUTH_ARGON2_MEMORY_KIB and AUTH_ARGON2_TIME_COST (defaults: 19456 KiB, 2)' });
  return found;
}
