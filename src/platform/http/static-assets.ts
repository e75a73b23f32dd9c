import type { FastifyError, FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { compressLargeResponses } from './compression.js';
import { pathOf } from './probe-paths.js';
import { sendProblem } from './problem.js';

/**
 * `/assets/*`: fingerprinted static files, cached by browsers and CDNs for 7 days and
 * never revalidated (a new build ships new names).
 */
export async function staticAssets(app: FastifyInstance, options: { root: string }): Promise<void> {
  await compressLargeResponses(app);
  // Only the files under /assets/ answer; anything else here is simply not an asset. A
  // directory (no listings), a path climbing out of the root and a dotfile are refused as 404,
  // so nothing tells which of them exists.
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const path = pathOf(request.url).slice(0, 200);
    if (error.statusCode === 403) return sendProblem(reply, 404, 'not-found', `No asset at ${path}: assets are served by file name, e.g. /assets/rampart.svg, and directories are not listed.`);
    if (error.statusCode === 400) return sendProblem(reply, 400, 'bad-url', `The asset path ${path} is malformed.`);
    throw error;
  });
  await app.register(fastifyStatic, {
    root: options.root,
    prefix: '/assets/',
    immutable: true,
    maxAge: '7d',
    cacheControl: true,
    dotfiles: 'ignore',
    index: false,
    preCompressed: false,
  });
}
