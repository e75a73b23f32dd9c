// How rotated secrets reach the running process: redaction first, then the parts that
// change live. Wiring between platform folders, so it sits beside main.ts, not in one of them.
import { configSchema, type Config } from './config/schema.js';
import type { FieldKeyring } from './platform/crypto/field-keyring.js';
import { passwordInUrl } from './platform/db/failure-reason.js';
import type { Logger } from './platform/log/logger.js';
import type { Redactor } from './platform/log/redact.js';
import type { SecretStore } from './platform/secrets/secret-store.js';

// Secrets whose rotation takes effect without a restart (SENTRY_DSN rebuilds the error-report
// client; SENTRY_AUTH_TOKEN is read by each `rampart release` run, never by a server). The
// others are read at start: APP_SECRET seals the signing keys and TOTP secrets
// (docs/decisions.md, "Which secrets rotate live"); DATABASE_URL and REDIS_URL configure
// clients built once.
const LIVE_SECRETS = new Set(['DATABASE_PASSWORD', 'FIELD_ENCRYPTION_KEYS', 'API_KEY_PEPPER', 'DOCS_PASSWORD', 'SMTP_URL', 'SENTRY_DSN', 'SENTRY_AUTH_TOKEN']);

// Secrets holding several values (`kid:key,kid:key`, `pepper,pepper`): each part is a secret too.
const LIST_SECRETS = new Set(['FIELD_ENCRYPTION_KEYS', 'API_KEY_PEPPER', 'fieldEncryptionKeys', 'apiKeyPepper']);

/** The value and its parts worth scrubbing from free text. */
export function scrubbableParts(key: string, value: string): string[] {
  const password = passwordInUrl(value);
  const parts = password ? [value, password] : [value];
  if (LIST_SECRETS.has(key)) for (const part of value.split(',')) parts.push(part.trim(), part.split(':').at(-1)!.trim());
  return parts;
}

/** Names and current values of every secret setting, for redaction. */
export function secretsOf(config: Config): { keys: string[]; values: string[] } {
  const keys: string[] = [];
  const values: string[] = [];
  for (const [name, field] of Object.entries(configSchema)) {
    if (!('secret' in field && field.secret)) continue;
    keys.push(name, field.env);
    const value = config[name as keyof Config];
    if (typeof value === 'string') values.push(...scrubbableParts(name, value));
  }
  return { keys, values };
}

/**
 * Registered before any other listener, so a rotated value is scrubbed before anything can
 * log it. Previous generations (AWSPREVIOUS) are secret too and scrubbed alike.
 */
export function redactRotatedSecrets(secretStore: SecretStore, redactor: Redactor, logger: Logger): void {
  const rememberPrevious = (key: string) => {
    const previous = secretStore.previous(key)?.value;
    if (previous !== undefined) redactor.remember(scrubbableParts(key, previous));
  };
  for (const secret of secretStore.all()) rememberPrevious(secret.key);
  secretStore.onPreviousChange((keys) => keys.forEach(rememberPrevious));
  secretStore.onChange((keys) => {
    for (const key of keys) {
      const value = secretStore.get(key);
      if (value !== undefined) redactor.remember(scrubbableParts(key, value));
    }
    logger.info({ changed: keys }, 'secrets changed');
    const atRestart = keys.filter((key) => !LIVE_SECRETS.has(key));
    if (atRestart.length > 0) logger.warn({ changed: atRestart }, 'these secrets are read at start only; the change takes effect at the next restart');
  });
  secretStore.onRefreshFailure((provider, reason) => logger.warn({ provider, reason }, 'secrets provider could not be read; keeping its last values'));
}

/** A rotated FIELD_ENCRYPTION_KEYS replaces the keyring in place; a malformed one is refused. */
export function rotateFieldKeysLive(secretStore: SecretStore, fieldKeys: FieldKeyring, logger: Logger): void {
  secretStore.onChange((keys) => {
    const value = secretStore.get('FIELD_ENCRYPTION_KEYS');
    if (!keys.includes('FIELD_ENCRYPTION_KEYS') || value === undefined) return;
    try {
      fieldKeys.replace(value);
      logger.info({ current_kid: fieldKeys.currentKid(), kids: fieldKeys.kids() }, 'field-encryption keys replaced');
    } catch (err) {
      logger.error({ err }, 'rotated FIELD_ENCRYPTION_KEYS is malformed; keeping the keys in use');
    }
  });
}

/**
 * The value of `key` in use now: the start value until a refresh changes the key, then the
 * chain's (undefined once it was removed). For settings read where they are used (per request,
 * per message) rather than by a client built once.
 */
export function liveSecret(secretStore: SecretStore, key: string, atStart: string | undefined): () => string | undefined {
  let current = atStart;
  secretStore.onChange((keys) => {
    if (keys.includes(key)) current = secretStore.get(key);
  });
  return () => current;
}
