import { startRampart } from '../main.js';
import { resolveRuntime } from './bootstrap.js';
import { loadExtensions } from './extensions.js';
import { stopOnSignals } from './serve.js';

/** `rampart worker`: runs the job handlers; its metrics port also answers `/health`. */
export async function workerCommand(options: { plugin?: string[] } = {}): Promise<void> {
  const { config, secrets } = await resolveRuntime();
  const extensions = await loadExtensions(options.plugin);
  const rampart = await startRampart(config, { web: false, worker: true, extensions, secrets });
  process.stderr.write(`Rampart worker running (${config.env})\n  metrics      ${rampart.urls.metrics} (internal; /health for probes)\n`);
  stopOnSignals(rampart);
}
