import type { Config } from './schema.js';
import { configSchema } from './schema.js';

/**
 * Unsafe settings, one sentence each. Production refuses to start on any of them;
 * development logs them as warnings.
 */
export function unsafeSettings(config: Config): string[] {
  const problems: string[] = [];
  if (config.databaseUrl === undefined) problems.push('DATABASE_URL is not set: the embedded PGlite database is for development only');
  for (const name of config.generatedSecrets) {
    const env = configSchema[name as keyof typeof configSchema]?.env ?? name;
    problems.push(`${env} is not set: generated secrets are for development only`);
  }
  if (!config.forceHttps) problems.push('FORCE_HTTPS is off: set FORCE_HTTPS=true behind your TLS-terminating proxy');
  // Reset links and the console's __Host- cookies (Secure) only work over https.
  if (new URL(config.publicBaseUrl).protocol !== 'https:') problems.push('PUBLIC_BASE_URL is not https: set the https address users reach Rampart at (mail links and browser cookies depend on it)');
  if (config.corsOrigins.includes('*')) problems.push('CORS_ORIGINS contains "*": list the allowed origins');
  if (config.docsEnabled && config.docsUser === undefined) problems.push('DOCS_ENABLED without DOCS_USER/DOCS_PASSWORD: API docs would be public');
  if (config.authArgon2MemoryKib < 19_456 || config.authArgon2TimeCost < 2) problems.push('AUTH_ARGON2_MEMORY_KIB/AUTH_ARGON2_TIME_COST are below OWASP\'s minimum (19456 KiB, 2 iterations)');
  return problems;
}
