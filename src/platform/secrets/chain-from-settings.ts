import type { SecretProvider } from './secret-provider.js';
import { envProvider } from './env-provider.js';
import { fileProvider } from './file-provider.js';
import type { RetryPolicy } from './throttle-retry.js';

export interface ChainSettings {
  providers: readonly string[];
  env: NodeJS.ProcessEnv;
  rampartEnv: string;
  secretsDir: string;
  ssmPath: string;
  secretsManagerIds: readonly string[];
  known: ReadonlySet<string>;
  retry: RetryPolicy;
}

/**
 * The providers named by SECRETS_PROVIDERS, in order. The AWS clients are imported only
 * when used: a laptop run never loads the SDK.
 */
export async function chainFromSettings(settings: ChainSettings): Promise<SecretProvider[]> {
  const chain: SecretProvider[] = [];
  for (const name of settings.providers) {
    if (name === 'env') chain.push(envProvider(settings.env, settings.known));
    else if (name === 'file') chain.push(fileProvider(settings.secretsDir, settings.known));
    else if (name === 'ssm') {
      const { ssmProvider } = await import('./ssm-provider.js');
      chain.push(ssmProvider({ path: settings.ssmPath.replaceAll('{env}', settings.rampartEnv), known: settings.known, retry: settings.retry }));
    } else if (name === 'secretsmanager') {
      const { secretsManagerProvider } = await import('./secrets-manager-provider.js');
      chain.push(secretsManagerProvider({ ids: settings.secretsManagerIds, known: settings.known, retry: settings.retry }));
    }
  }
  return chain;
}
