import { startRampart, type Rampart } from '../main.js';
import { resolveRuntime } from './bootstrap.js';
import { loadExtensions } from './extensions.js';

export interface ServeOptions {
  withWorker?: boolean;
  plugin?: string[];
}

/** `rampart serve`: the web process (and, for `npm start`, the worker in the same process). */
export async function serveCommand(options: ServeOptions): Promise<void> {
  const { config, secrets } = await resolveRuntime();
  const extensions = await loadExtensions(options.plugin);
  const rampart = await startRampart(config, {
    web: true,
    worker: options.withWorker === true,
    extensions,
    secrets,
  });
  const lines = [`Rampart ${config.env} listening on ${rampart.urls.api}`];
  if (rampart.urls.docs) lines.push(`  API docs     ${rampart.urls.docs}`);
  lines.push(`  health       ${rampart.urls.api}/health`, `  readiness    ${rampart.urls.api}/readiness`, `  metrics      ${rampart.urls.metrics} (internal)`);
  if (options.withWorker) lines.push('  worker       running in this process');
  rampart.logger.info({ urls: rampart.urls }, 'listening');
  process.stderr.write(`${lines.join('\n')}\n`);
  stopOnSignals(rampart);
}

/** SIGTERM/SIGINT: drain and exit 0; a second signal exits at once. SIGHUP: re-read secrets now. */
export function stopOnSignals(rampart: Rampart): void {
  process.on('SIGHUP', () => {
    rampart.logger.info({ signal: 'SIGHUP' }, 'refreshing secrets');
    void rampart.refreshSecrets();
  });
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    rampart.logger.info({ signal }, 'shutting down');
    rampart.stop().then(
      (clean) => process.exit(clean ? 0 : 1),
      (err: unknown) => {
        rampart.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
