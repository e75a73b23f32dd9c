import type { FastifyInstance } from 'fastify';
import fastifyCors from '@fastify/cors';

/**
 * Allowlisted origins only. A wildcard is honoured in development but then never with
 * credentials, so a browser never sends cookies to "anyone".
 */
export async function corsPolicy(app: FastifyInstance, options: { origins: readonly string[] }): Promise<void> {
  if (options.origins.length === 0) return;
  const wildcard = options.origins.includes('*');
  await app.register(fastifyCors, {
    origin: wildcard ? '*' : [...options.origins],
    credentials: !wildcard,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    exposedHeaders: ['x-correlation-id', 'retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'],
    maxAge: 600,
  });
}
