import { register } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';
import type { Kysely } from 'kysely';
import { defineFeature, type FeatureDefinition } from '../feature.js';
import { packageRoot } from '../package-info.js';
import type { Tables } from '../platform/db/tables.js';
import type { Logger } from '../platform/log/logger.js';
import type { JobDefinition, JobQueue } from '../platform/queue/job-types.js';

// Replaced with `true` by scripts/bundle.mjs; undeclared (typeof 'undefined') when running from dist/src.
declare const RAMPART_BUNDLE: boolean | undefined;

/** What a plugin's job definitions get to work with. */
export interface JobHost {
  db: Kysely<Tables>;
  queue: JobQueue;
  logger: Logger;
}

/** What a `--plugin` module may bring: routes (its default export) and job types (`export function jobs(host)`). */
export interface Extension {
  routes?: FastifyPluginAsync;
  jobs?: (host: JobHost) => JobDefinition[];
}

/** Called once per process (`serve` or `worker`): each module becomes a feature started after the built-in ones. */
export async function loadExtensions(paths: readonly string[] = []): Promise<FeatureDefinition[]> {
  if (paths.length > 0) shareKyselyWithExtensions();
  return (await Promise.all(paths.map(loadExtension))).map((extension, i) => extensionFeature(paths[i]!, extension));
}

function extensionFeature(path: string, extension: Extension): FeatureDefinition {
  return defineFeature({
    name: `plugin ${path}`,
    start: ({ db, queue, logger, roles }) => ({
      routes: roles.web && extension.routes ? [extension.routes] : [],
      jobs: extension.jobs?.({ db, queue, logger }) ?? [],
    }),
  });
}

/**
 * The bundle inlines Kysely; a plugin's `import 'kysely'` is pointed at that same copy, so the
 * `db` it is given is an instance of the `Kysely` it imports. From dist/src both already load
 * node_modules/kysely, and no hook is needed.
 */
function shareKyselyWithExtensions(): void {
  if (typeof RAMPART_BUNDLE === 'undefined') return;
  const dir = join(packageRoot, 'dist', 'extensions');
  register(pathToFileURL(join(dir, 'resolve-hooks.mjs')), { data: { kyselyUrl: pathToFileURL(join(dir, 'kysely.mjs')).href } });
}

async function loadExtension(path: string): Promise<Extension> {
  const mod = (await import(pathToFileURL(resolve(path)).href)) as { default?: unknown; jobs?: unknown };
  if (mod.default !== undefined && typeof mod.default !== 'function') throw new Error(`${path}: the default export must be a Fastify plugin function`);
  if (mod.jobs !== undefined && typeof mod.jobs !== 'function') throw new Error(`${path}: \`jobs\` must be a function returning job definitions`);
  if (mod.default === undefined && mod.jobs === undefined) throw new Error(`${path}: the module must default-export a Fastify plugin or export \`jobs\``);
  return { routes: mod.default as FastifyPluginAsync | undefined, jobs: mod.jobs as Extension['jobs'] };
}
