import { startRampart } from '../main.js';
import { resolveRuntime } from './bootstrap.js';
import { stopOnSignals } from './serve.js';

/** `rampart worker`: runs background work; its metrics port also answers `/health`. */
export async function workerCommand(): Promise<void> {
  const { config, secrets } = await resolveRuntime();
  const rampart = await startRampart(config, { web: false, worker: true, secrets });
  process.stderr.write(`Rampart worker running (${config.env})\n  metrics      ${rampart.urls.metrics} (internal; /health for probes)\n`);
  stopOnSignals(rampart);
}
