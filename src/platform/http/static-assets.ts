import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { compressLargeResponses } from './compression.js';

/**
 * `/assets/*`: fingerprinted static files, cached by browsers and CDNs for 7 days and
 * never revalidated (a new build ships new names).
 */
export async function staticAssets(app: FastifyInstance, options: { root: string }): Promise<void> {
  await compressLargeResponses(app);
  await app.register(fastifyStatic, {
    root: options.root,
    prefix: '/assets/',
    immutable: true,
    maxAge: '7d',
    cacheControl: true,
    dotfiles: 'deny',
    index: false,
    preCompressed: false,
  });
}
