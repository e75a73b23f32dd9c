import { runChecks, type DependencyCheck } from './readiness.js';

/**
 * How much `/readiness` tells. `full`: each dependency's details, workers, observability
 * settings, version and uptime (the internal port always; the public one in development).
 * `minimal`: the overall status and whether each dependency is ok, all a load balancer needs
 * and nothing an outsider could use to map the deployment.
 */
export type ReadinessDetail = 'full' | 'minimal';

/** READINESS_DETAIL, or by default the tight form in production and the full one in development. */
export function publicReadinessDetail(setting: string | undefined, production: boolean): ReadinessDetail {
  if (setting === 'full' || setting === 'minimal') return setting;
  return production ? 'minimal' : 'full';
}

export interface ReadinessOptions {
  checks: readonly DependencyCheck[];
  /** Extra, always-present sections of the full report (observability, workers…), computed per call. */
  sections: () => Promise<Record<string, unknown>>;
  isShuttingDown: () => boolean;
  version: string;
  startedAt: number;
}

export interface ReadinessReport {
  statusCode: 200 | 503;
  body: Record<string, unknown>;
}

export interface Readiness {
  report(detail: ReadinessDetail): Promise<ReadinessReport>;
}

export function createReadiness(options: ReadinessOptions): Readiness {
  return {
    async report(detail) {
      const [{ statuses, criticalOk, allOk }, sections] = await Promise.all([
        runChecks(options.checks),
        detail === 'full' ? options.sections() : Promise.resolve({}),
      ]);
      const shuttingDown = options.isShuttingDown();
      const status = shuttingDown ? 'shutting_down' : !criticalOk ? 'unavailable' : allOk ? 'ok' : 'degraded';
      const statusCode = shuttingDown || !criticalOk ? 503 : 200;
      if (detail === 'minimal') {
        return { statusCode, body: { status, ...Object.fromEntries(Object.entries(statuses).map(([name, s]) => [name, { ok: s.ok }])) } };
      }
      return { statusCode, body: { status, ...statuses, ...sections, version: options.version, uptime_s: Math.round((Date.now() - options.startedAt) / 1000) } };
    },
  };
}
