import type { FastifyInstance } from 'fastify';
import type { Readiness, ReadinessDetail } from './readiness-report.js';

export interface HealthRoutesOptions {
  readiness: Readiness;
  /** What the public `/readiness` tells (READINESS_DETAIL); the internal port always has the full report. */
  detail: ReadinessDetail;
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
      summary: 'Readiness: 200 when this instance should receive traffic, 503 otherwise, with whether each dependency is ok (details on the internal port, or here when READINESS_DETAIL=full).',
      tags: ['operations'],
    },
  }, async (_request, reply) => {
    const { statusCode, body } = await options.readiness.report(options.detail);
    reply.code(statusCode).header('cache-control', 'no-store');
    return body;
  });
}
