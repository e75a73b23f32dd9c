import { readFile } from 'node:fs/promises';
import { directoryDrift, DirectoryNotReplaceable, replaceDirectory } from '../ops/slo/generated-directory.js';
import { sloFiles } from '../ops/slo/slo-files.js';
import { parseSloSpec, SloSpecError, type SloSpec } from '../ops/slo/slo-spec.js';
import { CliExit, EXIT } from './bootstrap.js';

export interface SloGenerateOptions {
  spec: string;
  out: string;
  check?: boolean;
  json?: boolean;
}

/**
 * `rampart slo generate`: the SLO spec in, recording rules, burn-rate alerts and their promtool
 * tests out, replacing the output directory as a whole. `--check` writes nothing and exits 1
 * when the directory is not what the spec generates (for CI).
 */
export async function sloGenerateCommand(options: SloGenerateOptions, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const spec = await loadSpec(options.spec);
  const files = sloFiles(spec);
  const summary = { spec: options.spec, out: options.out, slos: spec.slos.map((s) => s.name), files: [...files.keys()] };

  if (options.check) {
    const drift = await directoryDrift(options.out, files);
    if (options.json) out.write(`${JSON.stringify({ ...summary, in_step: drift.length === 0, drift }, null, 2)}\n`);
    else if (drift.length === 0) out.write(`${options.out} is what ${options.spec} generates\n`);
    if (drift.length > 0) throw new CliExit(EXIT.failure, options.json ? [] : [`${options.out} differs from what ${options.spec} generates: ${drift.join(', ')}`, `run: rampart slo generate --spec ${options.spec} --out ${options.out}`]);
    return;
  }
  try {
    await replaceDirectory(options.out, files);
  } catch (err) {
    if (err instanceof DirectoryNotReplaceable) throw new CliExit(EXIT.badConfig, [err.message]);
    throw err;
  }
  if (options.json) out.write(`${JSON.stringify(summary, null, 2)}\n`);
  else out.write(`wrote ${summary.files.join(', ')} to ${options.out} for ${spec.slos.length} SLOs (${summary.slos.join(', ')})\n`);
}

async function loadSpec(file: string): Promise<SloSpec> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CliExit(EXIT.badConfig, [`cannot read the SLO spec ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
  }
  try {
    return parseSloSpec(text, file);
  } catch (err) {
    if (err instanceof SloSpecError) throw new CliExit(EXIT.badConfig, [`${file}: the SLO spec is invalid; nothing was written`, err.message]);
    throw err;
  }
}
