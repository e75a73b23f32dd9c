import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { secretKeyFor, type SecretEntry, type SecretProvider } from './secret-provider.js';
import { retryThrottled, type RetryPolicy } from './throttle-retry.js';

export interface SecretsManagerProviderOptions {
  /** Secret names or ARNs. A JSON object secret gives one key per property; a plain string secret is named by its id's last segment. */
  ids: readonly string[];
  known: ReadonlySet<string>;
  retry?: RetryPolicy;
  client?: SecretsManagerClient;
}

/**
 * AWS Secrets Manager: the `AWSCURRENT` version of each secret, and its `AWSPREVIOUS` version
 * when there is one, as the previous generation of the same keys (never as current values).
 * A rotation (ours with `PutSecretValue`, or a rotation Lambda) stages the new version as
 * AWSCURRENT and moves the old one to AWSPREVIOUS, possibly before the database role has
 * been altered: the database password falls back to AWSPREVIOUS in that gap.
 */
export function secretsManagerProvider(options: SecretsManagerProviderOptions): SecretProvider {
  const client = options.client ?? new SecretsManagerClient({ maxAttempts: 1 });
  const owner = new Map<string, { id: string; json: boolean }>();

  const read = async (id: string, stage: Stage = 'AWSCURRENT') => {
    const result = await retryThrottled(() => client.send(new GetSecretValueCommand({ SecretId: id, VersionStage: stage })), options.retry);
    return { text: result.SecretString ?? '', version: result.VersionId, changedAt: result.CreatedDate };
  };
  // Read after AWSCURRENT succeeded, so ResourceNotFoundException means "no such stage" (a
  // secret with a single version), not a missing secret.
  const readPrevious = (id: string) =>
    read(id, 'AWSPREVIOUS').catch((error: unknown) => {
      if ((error as { name?: string }).name === 'ResourceNotFoundException') return undefined;
      throw error;
    });
  /** The secret's keys and values: a JSON object gives one per property, a plain secret one under its name. */
  const entriesOf = (id: string, text: string): Array<[key: string, value: string, json: boolean]> => {
    const object = parseObject(text);
    if (object) {
      return Object.entries(object).flatMap(([property, value]) => {
        const key = secretKeyFor(property, options.known);
        return key && typeof value === 'string' ? [[key, value, true] as [string, string, boolean]] : [];
      });
    }
    const key = secretKeyFor(secretNameOf(id), options.known);
    return key && text ? [[key, text, false]] : [];
  };

  return {
    name: 'secretsmanager',
    async load() {
      const out = new Map<string, SecretEntry>();
      // In order: a key in several secrets comes from the first id that has it.
      for (const id of options.ids) {
        const current = await read(id);
        const entries = entriesOf(id, current.text).filter(([key]) => !out.has(key));
        if (entries.length === 0) continue;
        const previous = await readPrevious(id);
        const previousValues = new Map<string, string>();
        for (const [key, value] of previous ? entriesOf(id, previous.text) : []) if (!previousValues.has(key)) previousValues.set(key, value);
        for (const [key, value, json] of entries) {
          if (out.has(key)) continue;
          owner.set(key, { id, json });
          const previousValue = previousValues.get(key);
          out.set(key, {
            value,
            version: current.version,
            changedAt: current.changedAt,
            previous: previous && previousValue !== undefined ? { value: previousValue, version: previous.version, changedAt: previous.changedAt, stage: 'AWSPREVIOUS' } : undefined,
          });
        }
      }
      return out;
    },
    async write(key, value) {
      const target = owner.get(key) ?? (options.ids[0] ? { id: options.ids[0], json: true } : undefined);
      if (!target) throw new Error('SECRETS_MANAGER_IDS names no secret to write to');
      let secretString = value;
      if (target.json) {
        // The other keys in the same JSON secret must survive the new version.
        const current = await read(target.id).catch((error: unknown) => {
          if ((error as { name?: string }).name === 'ResourceNotFoundException') return { text: '' };
          throw error;
        });
        secretString = JSON.stringify({ ...(parseObject(current.text) ?? {}), [key]: value });
      }
      const result = await retryThrottled(() => client.send(new PutSecretValueCommand({ SecretId: target.id, SecretString: secretString })), options.retry);
      owner.set(key, target);
      return { version: result.VersionId };
    },
  };
}

type Stage = 'AWSCURRENT' | 'AWSPREVIOUS';

function parseObject(text: string): Record<string, unknown> | undefined {
  if (!text.trimStart().startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The secret's name from a name or an ARN; an ARN ends in `-` and six random characters AWS adds. */
export function secretNameOf(id: string): string {
  if (!id.startsWith('arn:')) return id;
  return (id.split(':').slice(6).join(':') || id).replace(/-[A-Za-z0-9]{6}$/, '');
}
