import type { SecretEntry, SecretProvider } from './secret-provider.js';

/** Secrets from environment variables named like the config keys. Read-only: rotate cannot write here. */
export function envProvider(env: NodeJS.ProcessEnv, known: ReadonlySet<string>): SecretProvider {
  return {
    name: 'env',
    async load() {
      const out = new Map<string, SecretEntry>();
      for (const key of known) {
        const value = env[key]?.trim();
        if (value) out.set(key, { value });
      }
      return out;
    },
  };
}
