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
 * AWS Secrets Manager: the `AWSCURRENT` version of each secret. Rotating writes a new
 * version with `PutSecretValue`, which Secrets Manager stages as AWSCURRENT and moves the
 * old one to AWSPREVIOUS (kept by AWS for rollback).
 */
export function secretsManagerProvider(options: SecretsManagerProviderOptions): SecretProvider {
  const client = options.client ?? new SecretsManagerClient({ maxAttempts: 1 });
  const owner = new Map<string, { id: string; json: boolean }>();

  const read = async (id: string) => {
    const result = await retryThrottled(() => client.send(new GetSecretValueCommand({ SecretId: id, VersionStage: 'AWSCURRENT' })), options.retry);
    return { text: result.SecretString ?? '', version: result.VersionId, changedAt: result.CreatedDate };
  };

  return {
    name: 'secretsmanager',
    async load() {
      const out = new Map<string, SecretEntry>();
      // In order: a key in several secrets comes from the first id that has it.
      for (const id of options.ids) {
        const { text, version, changedAt } = await read(id);
        const object = parseObject(text);
        if (object) {
          for (const [property, value] of Object.entries(object)) {
            const key = secretKeyFor(property, options.known);
            if (!key || typeof value !== 'string' || out.has(key)) continue;
            owner.set(key, { id, json: true });
            out.set(key, { value, version, changedAt });
          }
        } else {
          const key = secretKeyFor(secretNameOf(id), options.known);
          if (!key || out.has(key) || !text) continue;
          owner.set(key, { id, json: false });
          out.set(key, { value: text, version, changedAt });
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
