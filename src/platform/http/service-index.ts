import type { FastifyInstance } from 'fastify';
import { packageVersion } from '../../package-info.js';

export interface ServiceIndexOptions {
  /** Production answers without the version: a public port tells a scanner nothing it can match to advisories. */
  production: boolean;
  /** Whether `/docs` and `/openapi.json` are served (linked only then). */
  docs: boolean;
}

/**
 * `GET /`: what answers here and where to go next, instead of a bare 404. Registered after
 * every other route, and only when no plugin took `/` for itself.
 */
export function serviceIndex(app: FastifyInstance, options: ServiceIndexOptions): void {
  if (app.hasRoute({ method: 'GET', url: '/' })) return;
  const links: Record<string, string> = {};
  if (options.docs) Object.assign(links, { docs: '/docs', openapi: '/openapi.json' });
  Object.assign(links, { health: '/health', readiness: '/readiness' });
  const index = { service: 'rampart', ...(options.production ? {} : { version: packageVersion }), links };
  app.get('/', { schema: { hide: true } }, async () => index);
}
