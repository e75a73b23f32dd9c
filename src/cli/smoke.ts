import { CHECK_NAMES, runSmoke, type CheckResult } from '../ops/smoke/smoke-checks.js';
import { CliExit, EXIT } from './bootstrap.js';

export interface SmokeCommandOptions {
  json?: boolean;
  skip?: string[];
  apiKey?: string;
  workerTimeout?: string;
}

/** `rampart smoke URL`: the live checks of a deployment; exit 0 only when none failed. */
export async function smokeCommand(url: string, options: SmokeCommandOptions, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliExit(EXIT.badConfig, [`rampart smoke: "${url}" is not a URL (e.g. https://api.example.com)`]);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new CliExit(EXIT.badConfig, [`rampart smoke: ${parsed.protocol} is not http or https`]);
  const skip = (options.skip ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  const unknown = skip.filter((name) => !(CHECK_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0) throw new CliExit(EXIT.badConfig, [`rampart smoke: unknown check ${unknown.join(', ')}; the checks are ${CHECK_NAMES.join(', ')}`]);
  const workerTimeoutS = Number(options.workerTimeout ?? 30);
  if (!Number.isFinite(workerTimeoutS) || workerTimeoutS <= 0) throw new CliExit(EXIT.badConfig, ['rampart smoke: --worker-timeout must be a positive number of seconds']);

  const results = await runSmoke({ url: parsed.toString(), skip, apiKey: options.apiKey ?? process.env.RAMPART_SMOKE_API_KEY, workerTimeoutMs: workerTimeoutS * 1000 });
  const failed = results.filter((r) => r.status === 'fail');
  if (options.json) out.write(`${JSON.stringify({ url: parsed.toString(), ok: failed.length === 0, checks: results }, null, 2)}\n`);
  else out.write(`${formatTable(results)}\n${failed.length === 0 ? 'all checks passed' : `${failed.length} check${failed.length > 1 ? 's' : ''} failed: ${failed.map((r) => r.name).join(', ')}`}\n`);
  if (failed.length > 0) throw new CliExit(EXIT.failure, []);
}

function formatTable(results: CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length));
  return results.map((r) => `${r.name.padEnd(width)}  ${r.status.toUpperCase().padEnd(4)}  ${r.detail}`).join('\n');
}
