import type { PreviousSecretEntry, SecretEntry, SecretProvider } from './secret-provider.js';

/** A secret as the chain resolved it: its value and where it came from. */
export interface ResolvedSecret extends SecretEntry {
  key: string;
  source: string;
}

/** What `/readiness` and the logs may say about a provider: never a value. */
export interface ProviderStatus {
  name: string;
  ok: boolean;
  /** When a read of this provider last succeeded. */
  lastSuccessAt?: Date | undefined;
  /** Error class of the last failed read (`ThrottlingException`, `ENOENT`…), while it is failing. */
  failure?: string | undefined;
}

/** Providers that could not be read at start-up, named with the error class. */
export class SecretsUnavailable extends Error {
  constructor(readonly failures: ReadonlyArray<{ provider: string; reason: string }>) {
    super(`secrets provider ${failures.map((f) => `${f.provider} (${f.reason})`).join(', ')} could not be read`);
    this.name = 'SecretsUnavailable';
  }
}

export interface SecretStore {
  /** Reads every provider once (start-up); throws `SecretsUnavailable` when any fails. */
  load(): Promise<void>;
  /**
   * Re-reads every provider. A provider that fails keeps the values it gave last time, so a
   * provider outage changes nothing; it recovers on a later refresh. Resolves with the keys
   * whose value changed; never rejects.
   */
  refresh(): Promise<string[]>;
  /** The current value: never a previous generation. */
  get(key: string): string | undefined;
  /**
   * The previous generation of `key` from the provider that supplies its current value
   * (Secrets Manager's AWSPREVIOUS), for consumers that may fall back to it during a
   * rotation. Undefined when that provider keeps none, or when it equals the current value.
   */
  previous(key: string): PreviousSecretEntry | undefined;
  resolved(key: string): ResolvedSecret | undefined;
  all(): ResolvedSecret[];
  statuses(): ProviderStatus[];
  providers(): readonly SecretProvider[];
  /** Called after a refresh that changed values, with the changed keys. */
  onChange(listener: (keys: string[]) => void | Promise<void>): void;
  /**
   * Called, before `onChange` listeners, with the keys whose previous generation is new after
   * a refresh (not a change of any value in use: `onChange` is not told about these alone).
   */
  onPreviousChange(listener: (keys: string[]) => void): void;
  /** Called for each provider that failed during a refresh (its values were kept). */
  onRefreshFailure(listener: (provider: string, reason: string) => void): void;
  /** Refreshes every `intervalMs` until `stop`. */
  startRefreshing(intervalMs: number): void;
  stop(): void;
}

/** The previous generation worth falling back to: none when it equals the current value. */
function previousOf(entry: SecretEntry | undefined): PreviousSecretEntry | undefined {
  return entry?.previous && entry.previous.value !== entry.value ? entry.previous : undefined;
}

/** A short, value-free reason: the error's class or code, never its message (which could quote input). */
export function failureReason(error: unknown): string {
  const e = error as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  if (e?.code && typeof e.code === 'string') return e.code;
  if (e?.name && e.name !== 'Error') return e.name;
  if (e?.$metadata?.httpStatusCode) return `HTTP ${e.$metadata.httpStatusCode}`;
  return 'error';
}

/**
 * The ordered chain (`SECRETS_PROVIDERS`): for each key the first provider that has it wins,
 * so `env,ssm` lets an operator override one parameter from the environment. Values are
 * cached; nothing reads a provider per request.
 */
export function createSecretStore(chain: readonly SecretProvider[]): SecretStore {
  const failureListeners: Array<(provider: string, reason: string) => void> = [];
  const lastGood = new Map<string, Map<string, SecretEntry>>();
  const statuses = new Map<string, ProviderStatus>(chain.map((p) => [p.name, { name: p.name, ok: false }]));
  let merged = new Map<string, ResolvedSecret>();
  const listeners: Array<(keys: string[]) => void | Promise<void>> = [];
  const previousListeners: Array<(keys: string[]) => void> = [];
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<string[]> | undefined;

  const readAll = async () => {
    const results = await Promise.allSettled(chain.map((p) => p.load()));
    const failures: Array<{ provider: string; reason: string }> = [];
    results.forEach((result, i) => {
      const provider = chain[i]!;
      if (result.status === 'fulfilled') {
        lastGood.set(provider.name, result.value);
        statuses.set(provider.name, { name: provider.name, ok: true, lastSuccessAt: new Date() });
      } else {
        const reason = failureReason(result.reason);
        failures.push({ provider: provider.name, reason });
        statuses.set(provider.name, { ...statuses.get(provider.name)!, ok: false, failure: reason });
      }
    });
    const next = new Map<string, ResolvedSecret>();
    for (const provider of chain) {
      for (const [key, entry] of lastGood.get(provider.name) ?? []) {
        if (!next.has(key)) next.set(key, { ...entry, key, source: provider.name });
      }
    }
    const keys = [...new Set([...next.keys(), ...merged.keys()])];
    const changed = keys.filter((key) => next.get(key)?.value !== merged.get(key)?.value);
    // Previous generations are not values in use: their changes are reported apart (the redactor must learn them).
    const previousChanged = keys.filter((key) => previousOf(next.get(key)) !== undefined && previousOf(next.get(key))?.value !== previousOf(merged.get(key))?.value);
    merged = next;
    return { failures, changed, previousChanged };
  };

  const refresh = () => {
    running ??= (async () => {
      const { failures, changed, previousChanged } = await readAll();
      for (const f of failures) for (const listener of failureListeners) listener(f.provider, f.reason);
      if (previousChanged.length > 0) for (const listener of previousListeners) listener(previousChanged);
      if (changed.length > 0) {
        for (const listener of listeners) {
          try {
            await listener(changed);
          } catch {
            // A consumer failing to apply a value must not stop the others.
          }
        }
      }
      return changed;
    })().finally(() => {
      running = undefined;
    });
    return running;
  };

  return {
    async load() {
      const { failures } = await readAll();
      if (failures.length > 0) throw new SecretsUnavailable(failures);
    },
    refresh,
    get: (key) => merged.get(key)?.value,
    previous: (key) => previousOf(merged.get(key)),
    onPreviousChange: (listener) => void previousListeners.push(listener),
    resolved: (key) => merged.get(key),
    all: () => [...merged.values()],
    statuses: () => chain.map((p) => statuses.get(p.name)!),
    providers: () => chain,
    onChange: (listener) => void listeners.push(listener),
    onRefreshFailure: (listener) => void failureListeners.push(listener),
    startRefreshing(intervalMs) {
      clearInterval(timer);
      timer = setInterval(() => void refresh(), intervalMs);
      timer.unref();
    },
    stop: () => clearInterval(timer),
  };
}
