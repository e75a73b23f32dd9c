// Header and field names whose values are credentials wherever they appear.
const ALWAYS_SECRET = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'password', 'passwd', 'new_password', 'current_password', 'secret', 'client_secret', 'refresh_token', 'access_token', 'mfa_token', 'api_key', 'apikey'];

export const REDACTED = '[redacted]';

// Only values long enough to be distinctive are scrubbed from free text, so short
// common strings (a "true", a port) never get mangled.
const MIN_SCRUBBED_VALUE_LENGTH = 6;
const MAX_DEPTH = 12;

export interface Redactor {
  /** A copy of `value` with secret keys and secret values replaced, at every depth. */
  redact(value: unknown): unknown;
  /** `text` with every known secret value replaced. */
  scrub(text: string): string;
  /** Adds values to scrub from now on (a secret rotated at run time); earlier ones stay scrubbed. */
  remember(secretValues: readonly string[]): void;
}

export function createRedactor(extraSecretKeys: readonly string[], secretValues: readonly string[]): Redactor {
  const keys = new Set([...ALWAYS_SECRET, ...extraSecretKeys].map(normaliseKey));
  const values = secretValues.filter((v) => v.length >= MIN_SCRUBBED_VALUE_LENGTH);
  const remember = (more: readonly string[]) => {
    for (const value of more) if (value.length >= MIN_SCRUBBED_VALUE_LENGTH && !values.includes(value)) values.push(value);
  };

  const scrub = (text: string): string => {
    let out = text;
    for (const secret of values) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  };

  const walk = (value: unknown, depth: number, seen: WeakSet<object>): unknown => {
    if (typeof value === 'string') return values.length === 0 ? value : scrub(value);
    if (value === null || typeof value !== 'object') return value;
    if (depth > MAX_DEPTH || seen.has(value)) return '[truncated]';
    seen.add(value);
    if (Array.isArray(value)) return value.map((item) => walk(item, depth + 1, seen));
    if (value instanceof Error) return walk(serialiseError(value), depth + 1, seen);
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = keys.has(normaliseKey(key)) ? REDACTED : walk(item, depth + 1, seen);
    }
    return out;
  };

  return { redact: (value) => walk(value, 0, new WeakSet()), scrub, remember };
}

// `DOCS_PASSWORD`, `docsPassword` and `docs-password` are one key.
const normaliseKey = (key: string) => key.toLowerCase().replace(/[-_]/g, '');

function serialiseError(err: Error): Record<string, unknown> {
  const out: Record<string, unknown> = { type: err.name, message: err.message, stack: err.stack };
  for (const [key, item] of Object.entries(err)) out[key] = item;
  if (err.cause !== undefined) out.cause = err.cause;
  return out;
}
