import { readFile } from 'node:fs/promises';
import { dashboardFiles } from '../ops/dashboards/boards.js';
import { directoryDrift, DirectoryNotReplaceable, replaceDirectory } from '../ops/slo/generated-directory.js';
import { sloFiles } from '../ops/slo/slo-files.js';
import { parseSloSpec, SloSpecError, type SloSpec } from '../ops/slo/slo-spec.js';
import { CliExit, EXIT } from './bootstrap.js';

export interface SloGenerateOptions {
  spec: string;
  out: string;
  /** Also the Grafana dashboards (SLO overview from the spec; API, jobs, infrastructure). */
  dashboards?: string;
  check?: boolean;
  json?: boolean;
}

/**
 * `rampart slo generate`: the SLO spec in, recording rules, burn-rate alerts and their promtool
 * tests out (and, with --dashboards, the Grafana boards), each directory replaced as a whole. `--check` writes nothing and exits 1
 * when the directory is not what the spec generates (for CI).
 */
export async function sloGenerateCommand(options: SloGenerateOptions, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const spec = await loadSpec(options.spec);
  const outputs = new Map([[options.out, sloFiles(spec)]]);
  if (options.dashboards) outputs.set(options.dashboards, dashboardFiles(spec));
  const written = [...outputs].map(([dir, files]) => ({ dir, files: [...files.keys()] }));
  const summary = { spec: options.spec, slos: spec.slos.map((s) => s.name), outputs: written };

  if (options.check) {
    const drift: string[] = [];
    for (const [dir, files] of outputs) drift.push(...(await directoryDrift(dir, files)).map((d) => `${dir}/${d}`));
    if (options.json) out.write(`${JSON.stringify({ ...summary, in_step: drift.length === 0, drift }, null, 2)}\n`);
    else if (drift.length === 0) out.write(`${[...outputs.keys()].join(' and ')}: what ${options.spec} generates\n`);
    if (drift.length > 0) throw new CliExit(EXIT.failure, options.json ? [] : [`not what ${options.spec} generates: ${drift.join(', ')}`, 'run rampart slo generate with the same options to bring it in step']);
    return;
  }
  for (const [dir, files] of outputs) {
    try {
      await replaceDirectory(dir, files);
    } catch (err) {
      if (err instanceof DirectoryNotReplaceable) throw new CliExit(EXIT.badConfig, [err.message]);
      throw err;
    }
  }
  if (options.json) out.write(`${JSON.stringify(summary, null, 2)}\n`);
  else for (const { dir, files } of written) out.write(`wrote ${files.join(', ')} to ${dir}\n`);
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
