import { ConfigError, loadConfig, type LoadOptions } from '../config/load.js';
import { generatedSecretsProvider, generateSecretValue, REQUIRED_SECRETS } from '../config/dev-secrets.js';
import { unsafeSettings } from '../config/production-guard.js';
import { configSchema, SECRET_KEYS, type Config, type Field } from '../config/schema.js';
import { DataDirInUse } from '../platform/db/data-dir-lock.js';
import { openDatabase, type DatabaseHandle } from '../platform/db/database.js';
import { chainFromSettings } from '../platform/secrets/chain-from-settings.js';
import { createSecretStore, SecretsUnavailable, type SecretStore } from '../platform/secrets/secret-store.js';

/** Exit codes a deploy script can tell apart (README, "Exit codes"). */
export const EXIT = {
  ok: 0,
  failure: 1,
  badConfig: 2,
  unsafeForProduction: 3,
  /** A report that could not read everything it covers (`secrets audit` with the database down). */
  incomplete: 4,
  /** The embedded database is open in a running Rampart; PGlite allows one process. */
  databaseInUse: 5,
} as const;

export class CliExit extends Error {
  constructor(readonly code: number, readonly lines: string[]) {
    super(lines.join('\n'));
  }
}

const propertyOf = new Map((Object.entries(configSchema) as Array<[string, Field]>).map(([name, f]) => [f.env, name]));

export interface Runtime {
  config: Config;
  /** The loaded secrets chain; servers keep refreshing it. */
  secrets: SecretStore;
}

/** Loads and validates configuration; production refuses unsafe settings, one line each. */
export async function resolveConfig(env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  return (await resolveRuntime(env)).config;
}

/**
 * Configuration from the environment plus secrets from the chain (SECRETS_PROVIDERS), read
 * once with retries. A provider that cannot be read stops the start; so does, in production,
 * a required secret no provider has. Development generates those into a 0600 file instead.
 */
export async function resolveRuntime(env: NodeJS.ProcessEnv = process.env): Promise<Runtime> {
  const runtime = await loadRuntime(env, { missingSecrets: 'generate' });
  if (runtime.config.env === 'production') {
    const problems = unsafeSettings(runtime.config);
    if (problems.length > 0) {
      throw new CliExit(EXIT.unsafeForProduction, ['rampart: refusing to start in production:', ...problems.map((p) => `  ${p}`)]);
    }
  }
  return runtime;
}

export interface LoadRuntimeOptions {
  /**
   * `generate`: development writes each missing required secret into its data directory (what
   * the servers do). `report`: nothing is written, and a missing one is listed in
   * `generatedSecrets` as production would (what an audit needs).
   */
  missingSecrets: 'generate' | 'report';
}

/**
 * resolveRuntime without the production guard: the same configuration and secrets, for a
 * command that reports unsafe settings instead of refusing them (`rampart doctor`).
 */
export async function loadRuntime(env: NodeJS.ProcessEnv, options: LoadRuntimeOptions): Promise<Runtime> {
  // Only what the chain needs: a rule on a secret waits for the chain's value (DOCS_USER in
  // the environment, DOCS_PASSWORD in SSM).
  const settings = parsed(env, { secrets: 'later' });
  const chain = await chainFromSettings({
    providers: settings.secretsProviders,
    env,
    rampartEnv: settings.env,
    secretsDir: settings.secretsDir,
    ssmPath: settings.ssmPath,
    secretsManagerIds: settings.secretsManagerIds,
    known: SECRET_KEYS,
    retry: { attempts: settings.secretsLoadAttempts, baseDelayMs: 200, maxDelayMs: 5_000 },
  });
  const development = settings.env !== 'production';
  if (development) chain.push(generatedSecretsProvider(settings.dataDir));
  const secrets = createSecretStore(chain);
  try {
    await secrets.load();
    if (development && options.missingSecrets === 'generate') {
      const missing = REQUIRED_SECRETS.filter((key) => secrets.get(key) === undefined);
      const generated = chain.at(-1)!;
      for (const key of missing) await generated.write!(key, generateSecretValue(key));
      if (missing.length > 0) await secrets.load();
    }
  } catch (err) {
    if (err instanceof SecretsUnavailable) {
      throw new CliExit(development ? EXIT.failure : EXIT.unsafeForProduction, [
        `rampart: refusing to start${development ? '' : ' in production'}: secrets could not be loaded:`,
        ...err.failures.map((f) => `  secrets provider ${f.provider} is unavailable (${f.reason})`),
      ]);
    }
    throw err;
  }

  const withSecrets: NodeJS.ProcessEnv = { ...env };
  // A secret comes from the chain only: with `env` left out of SECRETS_PROVIDERS, the
  // environment's copies are ignored rather than silently winning.
  for (const key of SECRET_KEYS) delete withSecrets[key];
  for (const secret of secrets.all()) withSecrets[secret.key] = secret.value;
  const loaded = parsed(withSecrets);
  const generatedSecrets = REQUIRED_SECRETS.filter((key) => {
    const secret = secrets.resolved(key);
    return secret === undefined || secret.source === 'generated';
  }).map((key) => propertyOf.get(key)!);
  return { config: { ...loaded, generatedSecrets }, secrets };
}

function parsed(env: NodeJS.ProcessEnv, options?: LoadOptions): Omit<Config, 'generatedSecrets'> {
  try {
    return loadConfig(env, options);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliExit(EXIT.badConfig, ['rampart: invalid configuration', ...err.problems.map((p) => `  ${p}`)]);
    throw err;
  }
}

/** What a user sees when the embedded database is held by a running Rampart, and what to do. */
export function databaseInUseExit(error: DataDirInUse): CliExit {
  return new CliExit(EXIT.databaseInUse, [
    `rampart: the embedded database in ${error.dataDir} is in use by a running Rampart (pid ${error.pid}); PGlite lets one process open it.`,
    `  Stop that process first (Ctrl-C where it runs, or kill -TERM ${error.pid}) and run this again,`,
    '  or run Rampart on PostgreSQL (DATABASE_URL), where commands work alongside the running servers.',
  ]);
}

/**
 * The database for a one-off command (migrate, jobs, secrets): the servers' settings, a pool of
 * two. An embedded database held by a running Rampart exits with EXIT.databaseInUse.
 */
export async function openCommandDatabase(config: Config, secrets?: SecretStore): Promise<DatabaseHandle> {
  try {
    return await openDatabaseFor(config, secrets);
  } catch (error) {
    if (error instanceof DataDirInUse) throw databaseInUseExit(error);
    throw error;
  }
}

/** As openCommandDatabase, but a database in use is the caller's to report (DataDirInUse). */
export function openDatabaseFor(config: Config, secrets?: SecretStore): Promise<DatabaseHandle> {
  return openDatabase({
    url: config.databaseUrl,
    password: secrets ? () => secrets.get('DATABASE_PASSWORD') : () => config.databasePassword,
    previousPassword: secrets ? () => secrets.previous('DATABASE_PASSWORD')?.value : undefined,
    dataDir: config.dataDir,
    poolMax: 2,
    idleTimeoutMs: config.databaseIdleTimeoutMs,
    maxLifetimeS: 0,
    connectTimeoutMs: config.databaseConnectTimeoutMs,
  });
}
