import { createHash, timingSafeEqual } from 'node:crypto';
import { Module } from 'node:module';
import type { FastifyInstance } from 'fastify';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { requireFromPackage, requireFromRampart } from '../lazy-require.js';
import { compressLargeResponses } from './compression.js';
import { sendProblem } from './problem.js';

export interface ApiDocsOptions {
  title: string;
  version: string;
  /**
   * Unset: docs are open (development only; the production guard refuses it). The password is
   * read on every request, so a rotated DOCS_PASSWORD applies at once; none (it was removed
   * from the secrets chain) refuses everyone rather than opening the docs.
   */
  credentials?: { user: string; password: () => string | undefined };
}

// Swagger UI's bundle needs nothing from elsewhere; only this route tree gets this
// policy, and the API's stricter one stays on every other response. The one inline style
// Swagger UI injects is allowed by its hash, not by 'unsafe-inline'; the browser test
// fails if an upgrade changes it.
const DOCS_CSP = [
  "default-src 'self'",
  "base-uri 'self'",
  "connect-src 'self'",
  "font-src 'self' data:",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "img-src 'self' data:",
  "object-src 'none'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='",
].join('; ');

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Checks Basic credentials in constant time (hashing first makes lengths equal). */
export function basicAuthMatches(header: string | undefined, expected: { user: string; password: string | undefined }): boolean {
  if (!header?.startsWith('Basic ') || expected.password === undefined) return false;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return false;
  const userOk = timingSafeEqual(digest(decoded.slice(0, colon)), digest(expected.user));
  const passwordOk = timingSafeEqual(digest(decoded.slice(colon + 1)), digest(expected.password));
  return userOk && passwordOk;
}

/** Registers OpenAPI generation; call before any route so every schema is collected. */
export async function registerOpenApi(app: FastifyInstance, options: ApiDocsOptions): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: options.title, version: options.version },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, apiKeyAuth: { type: 'apiKey', in: 'header', name: 'X-API-Key' } } },
    },
  });
}

/** `/docs` (Swagger UI) and `/openapi.json`, behind Basic Auth when credentials are set. */
export async function apiDocsRoutes(app: FastifyInstance, options: ApiDocsOptions): Promise<void> {
  const { credentials } = options;
  if (credentials) {
    app.addHook('onRequest', (request, reply, done) => {
      if (basicAuthMatches(request.headers.authorization, { user: credentials.user, password: credentials.password() })) return done();
      reply.header('www-authenticate', 'Basic realm="rampart-docs", charset="UTF-8"');
      sendProblem(reply, 401, 'unauthorized', 'API docs need the DOCS_USER credentials (HTTP Basic).');
    });
  }
  await compressLargeResponses(app);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await shareYamlWithSwaggerUi();
  await app.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    staticCSP: DOCS_CSP,
  });
}

/**
 * Swagger UI (loaded from node_modules, it reads its own files) requires `yaml` when it is
 * registered; the bundle already holds the same file of the same package, inlined for the
 * OpenAPI generator. Handing it over through `require.cache` saves resolving, reading and
 * compiling yaml's ~70 files again on every start (30–50 ms here). Only when Swagger UI would load
 * exactly the file Rampart itself resolves, so a different copy or version is never swapped in.
 */
export async function shareYamlWithSwaggerUi(): Promise<void> {
  let path: string;
  try {
    path = requireFromPackage('@fastify/swagger-ui').resolve('yaml');
    if (path !== requireFromRampart.resolve('yaml')) return;
  } catch {
    return;
  }
  // Unbundled (dist/src), @fastify/swagger has already loaded this very file.
  if (requireFromRampart.cache[path]) return;
  const shared = new Module(path);
  shared.filename = path;
  // Imported here, not at the top: the bundle would otherwise run yaml's set-up on every start,
  // docs on or off. `default` is the CommonJS exports object, what `require('yaml')` returns.
  shared.exports = (await import('yaml')).default;
  shared.loaded = true;
  requireFromRampart.cache[path] = shared;
}
