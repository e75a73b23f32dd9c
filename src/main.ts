// Composition root: config → platform → features → worker and scheduler → web server.
import type { Config } from './config/schema.js';
import type { Feature, FeatureDefinition } from './feature.js';
import { authFeature } from './features/auth/feature.js';
import { contactFeature } from './features/contact/feature.js';
import { documentsFeature } from './features/documents/feature.js';
import { backupFeature } from './ops/backup/feature.js';
import { secretAgesFeature } from './ops/secrets/feature.js';
import { formatHost, startMetricsServer } from './platform/metrics/metrics-server.js';
import type { Logger } from './platform/log/logger.js';
import type { SecretStore } from './platform/secrets/secret-store.js';
import { startBackgroundWork } from './wiring/background-work.js';
import { openPlatform } from './wiring/platform.js';
import { stopWebServer } from './wiring/stop-web-server.js';
import { startWebServer, type WebServer } from './wiring/web-server.js';

/** Every built-in capability, in the order they start (auth first: the others guard their routes with it). */
export const FEATURES: readonly FeatureDefinition[] = [
  authFeature,
  contactFeature,
  documentsFeature,
  backupFeature,
  secretAgesFeature,
];

export interface RampartOptions {
  /** Serve HTTP (web). */
  web: boolean;
  /** Run the worker loop (in-process with web for `npm start`, alone for `rampart worker`). */
  worker: boolean;
  /** Features after the built-in ones (`--plugin` modules); they inherit every hardening control. */
  extensions?: readonly FeatureDefinition[];
  /** The loaded secrets chain (`resolveRuntime`); refreshed while running. Absent: the config's values, never refreshed. */
  secrets?: SecretStore;
}

export interface Rampart {
  logger: Logger;
  urls: { api?: string; docs?: string; metrics: string };
  /** Stops taking work, lets in-flight requests finish within the grace period, closes pools. Resolves true when nothing was cut off. */
  stop(): Promise<boolean>;
  /** Re-reads the secrets chain now and lets every feature reload (SIGHUP). Resolves with the names of secrets that changed. */
  refreshSecrets(): Promise<string[]>;
}

export async function startRampart(config: Config, options: RampartOptions): Promise<Rampart> {
  const roles = { web: options.web, worker: options.worker };
  const running = await openPlatform(config, roles, options.secrets);
  const { platform, logger } = { platform: running.platform, logger: running.platform.logger };
  const features: Feature[] = [];
  const closeFeatures = async () => {
    for (const feature of [...features].reverse()) await feature.close?.().catch((err: unknown) => logger.warn({ err }, 'error while closing'));
  };
  try {
    for (const definition of [...FEATURES, ...(options.extensions ?? [])]) {
      const feature = await definition.start(platform);
      features.push(feature);
      feature.metrics?.(platform.metrics);
      running.jobDefinitions.push(...(feature.jobs ?? []));
    }
    const notifyFeatures = async (changed: readonly string[]) => {
      for (const feature of features) await feature.onSecretsChange?.(changed);
    };
    let refreshing = false;
    platform.secrets.onChange((changed) => void (refreshing ? undefined : notifyFeatures(changed)));

    const background = await startBackgroundWork(platform, running.database, features, running.jobDefinitions);
    const metricsServer = await startMetricsServer(platform.metrics, config.host, config.metricsPort, logger);
    let shuttingDown = false;
    let web: WebServer | undefined;
    try {
      web = options.web ? await startWebServer(platform, features, { database: running.database, logging: running.logging, isShuttingDown: () => shuttingDown, internal: metricsServer }) : undefined;
    } catch (err) {
      await Promise.all([metricsServer.close(), background.close()]);
      throw err;
    }

    const address = web?.app.server.address();
    const api = address && typeof address === 'object' ? `http://${formatHost(config.host)}:${address.port}` : undefined;
    return {
      logger,
      urls: { api, docs: api && config.docsEnabled ? `${api}/docs` : undefined, metrics: metricsServer.url },
      async refreshSecrets() {
        refreshing = true;
        const changed = await platform.secrets.refresh().finally(() => (refreshing = false));
        await notifyFeatures(changed);
        logger.info({ changed }, 'secrets refreshed');
        return changed;
      },
      async stop() {
        shuttingDown = true;
        // The worker stops claiming at once and drains alongside the web requests.
        const jobsDrained = background.drainJobs(config.shutdownGraceMs);
        const requestsDrained = web ? await stopWebServer(web, config, logger) : true;
        const clean = (await jobsDrained) && requestsDrained;
        await background.close();
        await closeFeatures();
        await metricsServer.close();
        await running.close();
        logger.info({ clean }, 'stopped');
        running.logging.flush();
        return clean;
      },
    };
  } catch (err) {
    await closeFeatures();
    await running.close();
    throw err;
  }
}
