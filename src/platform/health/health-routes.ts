import type { FastifyInstance } from 'fastify';
import { runChecks, type DependencyCheck } from './readiness.js';

export interface HealthRoutesOptions {
  checks: readonly DependencyCheck[];
  /** Extra, always-present sections (observability, workers…), computed per call. */
  sections: () => Promise<Record<string, unknown>>;
  isShuttingDown: () => boolean;
  version: string;
  startedAt: number;
}

export async function healthRoutes(app: FastifyInstance, options: HealthRoutesOptions): Promise<void> {
  app.get('/health', {
    schema: {
      summary: 'Liveness: the process is up and its event loop answers.',
      tags: ['operations'],
      response: { 200: { type: 'object', properties: { status: { type: 'string' } }, required: ['status'] } },
    },
  }, async () => ({ status: 'ok' }));

  app.get('/readiness', {
    schema: {
      summary: 'Readiness: 200 when this instance should receive traffic, 503 otherwise, with each dependency\'s state.',
      tags: ['operations'],
    },
  }, async (_request, reply) => {
    const [{ statuses, criticalOk, allOk }, sections] = await Promise.all([runChecks(options.checks), options.sections()]);
    const shuttingDown = options.isShuttingDown();
    const status = shuttingDown ? 'shutting_down' : !criticalOk ? 'unavailable' : allOk ? 'ok' : 'degraded';
    reply.code(shuttingDown || !criticalOk ? 503 : 200).header('cache-control', 'no-store');
    return { status, ...statuses, ...sections, version: options.version, uptime_s: Math.round((Date.now() - options.startedAt) / 1000) };
  });
}
