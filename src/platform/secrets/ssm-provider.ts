import { GetParametersByPathCommand, PutParameterCommand, SSMClient, type Parameter } from '@aws-sdk/client-ssm';
import { secretKeyFor, type SecretEntry, type SecretProvider } from './secret-provider.js';
import { retryThrottled, type RetryPolicy } from './throttle-retry.js';

export interface SsmProviderOptions {
  /** Parameter path, e.g. `/rampart/production/`; every parameter below it (recursively) is read. */
  path: string;
  known: ReadonlySet<string>;
  retry?: RetryPolicy;
  /** Region, credentials and endpoint come from the standard AWS chain unless a client is given. */
  client?: SSMClient;
}

// AWS's maximum page size for GetParametersByPath.
const PAGE_SIZE = 10;

/** AWS SSM Parameter Store: `GetParametersByPath` (recursive, decrypted, every page); rotate writes a SecureString. */
export function ssmProvider(options: SsmProviderOptions): SecretProvider {
  // Our retry (backoff with full jitter) is the only one, so its attempts are what they say.
  const client = options.client ?? new SSMClient({ maxAttempts: 1 });
  const prefix = options.path.endsWith('/') ? options.path : `${options.path}/`;
  const names = new Map<string, string>();
  return {
    name: 'ssm',
    async load() {
      const parameters: Parameter[] = [];
      let nextToken: string | undefined;
      do {
        const page = await retryThrottled(() => client.send(new GetParametersByPathCommand({
          Path: prefix,
          Recursive: true,
          WithDecryption: true,
          MaxResults: PAGE_SIZE,
          NextToken: nextToken,
        })), options.retry);
        parameters.push(...(page.Parameters ?? []));
        nextToken = page.NextToken;
      } while (nextToken);
      const out = new Map<string, SecretEntry>();
      for (const parameter of parameters) {
        const key = parameter.Name ? secretKeyFor(parameter.Name, options.known) : undefined;
        if (!key || parameter.Value === undefined) continue;
        names.set(key, parameter.Name!);
        out.set(key, { value: parameter.Value, version: parameter.Version === undefined ? undefined : String(parameter.Version), changedAt: parameter.LastModifiedDate });
      }
      return out;
    },
    async write(key, value) {
      const name = names.get(key) ?? `${prefix}${key.toLowerCase()}`;
      const result = await retryThrottled(() => client.send(new PutParameterCommand({ Name: name, Value: value, Type: 'SecureString', Overwrite: true })), options.retry);
      names.set(key, name);
      return { version: result.Version === undefined ? undefined : String(result.Version) };
    },
  };
}
