import { ConfigError, loadConfig } from '../config/load.js';
import { withDevSecrets } from '../config/dev-secrets.js';
import { unsafeSettings } from '../config/production-guard.js';
import type { Config } from '../config/schema.js';
import { openDatabase, type DatabaseHandle } from '../platform/db/database.js';

/** Exit codes a deploy script can tell apart. */
export const EXIT = { ok: 0, failure: 1, badConfig: 2, unsafeForProduction: 3 } as const;

export class CliExit extends Error {
  constructor(readonly code: number, readonly lines: string[]) {
    super(lines.join('\n'));
  }
}

/** Loads and validates configuration; production refuses unsafe settings, one line each. */
export async function resolveConfig(env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  let config: Config;
  try {
    config = await withDevSecrets(loadConfig(env));
  } catch (err) {
    if (err instanceof ConfigError) throw new CliExit(EXIT.badConfig, ['rampart: invalid configuration', ...err.problems.map((p) => `  ${p}`)]);
    throw err;
  }
  if (config.env === 'production') {
    const problems = unsafeSettings(config);
    if (problems.length > 0) {
      throw new CliExit(EXIT.unsafeForProduction, ['rampart: refusing to start in production:', ...problems.map((p) => `  ${p}`)]);
    }
  }
  return config;
}

/** The database for a one-off command (migrate, secrets): the servers' settings, a pool of two. */
export function openCommandDatabase(config: Config): Promise<DatabaseHandle> {
  return openDatabase({
    url: config.databaseUrl,
    dataDir: config.dataDir,
    poolMax: 2,
    idleTimeoutMs: config.databaseIdleTimeoutMs,
    connectTimeoutMs: config.databaseConnectTimeoutMs,
  });
}
