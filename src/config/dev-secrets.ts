import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from './schema.js';

type LoadedConfig = Omit<Config, 'generatedSecrets'>;

// Secrets the platform cannot run without. Development invents them once and keeps them
// in a 0600 file so restarts keep sessions valid; production must be given them.
const REQUIRED_SECRETS = ['appSecret'] as const;

/**
 * Fills missing required secrets. In development they are generated into
 * `<dataDir>/secrets.json` (0600); in production nothing is generated and the
 * production guard reports them as missing.
 */
export async function withDevSecrets(config: LoadedConfig): Promise<Config> {
  const missing = REQUIRED_SECRETS.filter((name) => config[name] === undefined);
  if (missing.length === 0 || config.env === 'production') return { ...config, generatedSecrets: missing };

  const file = join(config.dataDir, 'secrets.json');
  const stored = await readStored(file);
  let changed = false;
  for (const name of missing) {
    if (typeof stored[name] !== 'string') {
      stored[name] = randomBytes(32).toString('base64url');
      changed = true;
    }
  }
  if (changed) {
    await mkdir(config.dataDir, { recursive: true });
    await writeFile(file, JSON.stringify(stored, null, 2), { mode: 0o600 });
  }
  // writeFile's mode only applies on creation; an existing file may have been loosened.
  await chmod(file, 0o600);
  const filled = Object.fromEntries(missing.map((name) => [name, stored[name]]));
  return { ...config, ...filled, generatedSecrets: missing };
}

async function readStored(file: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`${file} is unreadable or not JSON; delete it to regenerate development secrets`, { cause: err });
  }
}
