import type { FastifyInstance } from 'fastify';
import fastifyCompress from '@fastify/compress';

/**
 * br/gzip for responses over 1 KiB, registered only in the scopes that serve large
 * bodies (static assets, API docs). API responses are small JSON; compressing them costs
 * an onSend hook on every request, and the reverse proxy compresses at the edge anyway.
 * Call it (do not register it) inside the scope whose routes it should cover.
 */
export async function compressLargeResponses(app: FastifyInstance): Promise<void> {
  await app.register(fastifyCompress, { global: true, threshold: 1024, encodings: ['br', 'gzip'] });
}
