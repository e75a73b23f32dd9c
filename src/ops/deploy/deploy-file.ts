import { readFile } from 'node:fs/promises';

export type Colour = 'blue' | 'green';
export const COLOURS: readonly Colour[] = ['blue', 'green'];

export interface ColourSettings {
  /** Public port this colour's web process listens on. */
  port: number;
  /** Its internal metrics port, read for the error rate after the switch. */
  metricsPort?: number;
  /** Shell command that starts the colour and returns (`systemctl start rampart@{colour}`). */
  start: string;
  /** Shell command that stops it gracefully (SIGTERM: it drains before exiting). */
  stop: string;
}

/** The deploy file (`rampart.deploy.json`), as documented in docs/deploy.md. */
export interface DeployFile {
  host: string;
  proxy: {
    kind: 'nginx' | 'caddy';
    /** The file listing the live instances; rewritten atomically (temporary file + rename). */
    upstreamFile: string;
    /** Shell command that checks the proxy's configuration (`nginx -t`); optional. */
    check?: string;
    /** Shell command that makes the proxy read it again (`nginx -s reload`, `caddy reload …`). */
    reload: string;
  };
  colours: Record<Colour, ColourSettings>;
  /** Shell command for the pre-deploy backup; absent: `rampart backup --label pre-deploy`; false: none (warned). */
  backup?: string | false;
  /** Apply pending migrations before starting the new colour (default true). */
  migrate: boolean;
  /** Migration files; default: this build's own. */
  migrationsDir?: string;
  readinessTimeoutS: number;
  smoke: { skip: string[]; workerTimeoutS: number; apiKeyEnv?: string };
  /** After the switch: roll back when the new colour's 5xx share exceeds maxErrorRate. */
  watch: { seconds: number; maxErrorRate: number; minRequests: number };
  /** After the watch, before the old colour is stopped: time for the proxy's old workers to finish. */
  drainS: number;
}

export class DeployFileError extends Error {}

/** Reads and checks the deploy file; every problem is named with its field. */
export async function loadDeployFile(path: string): Promise<DeployFile> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new DeployFileError(`${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not valid JSON (${(err as Error).message})`}`);
  }
  return parseDeployFile(raw, path);
}

export function parseDeployFile(raw: unknown, source = 'deploy file'): DeployFile {
  const problems: string[] = [];
  const object = (value: unknown, field: string): Record<string, unknown> => {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
    problems.push(`${field} must be an object`);
    return {};
  };
  const string = (value: unknown, field: string, optional = false): string | undefined => {
    if (value === undefined && optional) return undefined;
    if (typeof value === 'string' && value.trim() !== '') return value;
    problems.push(`${field} must be a non-empty string`);
    return undefined;
  };
  const number = (value: unknown, field: string, fallback: number, min: number, max: number): number => {
    if (value === undefined) return fallback;
    if (typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max) return value;
    problems.push(`${field} must be a number from ${min} to ${max}`);
    return fallback;
  };
  const port = (value: unknown, field: string, optional = false): number | undefined => {
    if (value === undefined && optional) return undefined;
    if (typeof value === 'number' && Number.isInteger(value) && value > 0 && value < 65_536) return value;
    problems.push(`${field} must be a port number`);
    return undefined;
  };

  const top = object(raw, 'the file');
  const known = new Set(['host', 'proxy', 'colours', 'backup', 'migrate', 'migrationsDir', 'readinessTimeoutS', 'smoke', 'watch', 'drainS']);
  for (const key of Object.keys(top)) if (!known.has(key)) problems.push(`unknown field ${key}`);
  const proxy = object(top.proxy, 'proxy');
  const kind = proxy.kind;
  if (kind !== 'nginx' && kind !== 'caddy') problems.push('proxy.kind must be "nginx" or "caddy"');
  const colours = object(top.colours, 'colours');
  const colourSettings = {} as Record<Colour, ColourSettings>;
  for (const colour of COLOURS) {
    const c = object(colours[colour], `colours.${colour}`);
    colourSettings[colour] = {
      port: port(c.port, `colours.${colour}.port`) ?? 0,
      metricsPort: port(c.metricsPort, `colours.${colour}.metricsPort`, true),
      start: string(c.start, `colours.${colour}.start`) ?? '',
      stop: string(c.stop, `colours.${colour}.stop`) ?? '',
    };
  }
  if (colourSettings.blue.port !== 0 && colourSettings.blue.port === colourSettings.green.port) problems.push('colours.blue.port and colours.green.port must differ');
  const smoke = object(top.smoke ?? {}, 'smoke');
  const skip = smoke.skip ?? [];
  if (!Array.isArray(skip) || skip.some((s) => typeof s !== 'string')) problems.push('smoke.skip must be a list of check names');
  const watch = object(top.watch ?? {}, 'watch');
  if (top.migrate !== undefined && typeof top.migrate !== 'boolean') problems.push('migrate must be true or false');

  const file: DeployFile = {
    host: string(top.host ?? '127.0.0.1', 'host') ?? '127.0.0.1',
    proxy: {
      kind: kind === 'caddy' ? 'caddy' : 'nginx',
      upstreamFile: string(proxy.upstreamFile, 'proxy.upstreamFile') ?? '',
      check: string(proxy.check, 'proxy.check', true),
      reload: string(proxy.reload, 'proxy.reload') ?? '',
    },
    colours: colourSettings,
    backup: top.backup === false ? false : string(top.backup, 'backup', true),
    migrate: top.migrate !== false,
    migrationsDir: string(top.migrationsDir, 'migrationsDir', true),
    readinessTimeoutS: number(top.readinessTimeoutS, 'readinessTimeoutS', 60, 1, 3_600),
    smoke: {
      skip: Array.isArray(skip) ? (skip as string[]) : [],
      workerTimeoutS: number(smoke.workerTimeoutS, 'smoke.workerTimeoutS', 30, 1, 600),
      apiKeyEnv: string(smoke.apiKeyEnv, 'smoke.apiKeyEnv', true),
    },
    watch: {
      seconds: number(watch.seconds, 'watch.seconds', 60, 0, 3_600),
      maxErrorRate: number(watch.maxErrorRate, 'watch.maxErrorRate', 0.05, 0, 1),
      minRequests: number(watch.minRequests, 'watch.minRequests', 20, 1, 1_000_000),
    },
    drainS: number(top.drainS, 'drainS', 5, 0, 3_600),
  };
  if (problems.length > 0) throw new DeployFileError(`${source}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return file;
}

/** `{colour}`, `{port}`, `{metricsPort}` in a command, for the colour it acts on. */
export function commandFor(template: string, colour: Colour, settings: ColourSettings): string {
  return template.replaceAll('{colour}', colour).replaceAll('{port}', String(settings.port)).replaceAll('{metricsPort}', String(settings.metricsPort ?? ''));
}
