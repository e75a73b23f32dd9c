import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import type { JobHost } from '../main.js';
import type { JobDefinition } from '../platform/queue/job-types.js';

/** What a `--plugin` module may bring: routes (its default export) and job types (`export function jobs(host)`). */
export interface Extension {
  routes?: FastifyPluginAsync;
  jobs?: (host: JobHost) => JobDefinition[];
}

export async function loadExtensions(paths: readonly string[] = []): Promise<Extension[]> {
  return Promise.all(paths.map(loadExtension));
}

async function loadExtension(path: string): Promise<Extension> {
  const mod = (await import(pathToFileURL(resolve(path)).href)) as { default?: unknown; jobs?: unknown };
  if (mod.default !== undefined && typeof mod.default !== 'function') throw new Error(`${path}: the default export must be a Fastify plugin function`);
  if (mod.jobs !== undefined && typeof mod.jobs !== 'function') throw new Error(`${path}: \`jobs\` must be a function returning job definitions`);
  if (mod.default === undefined && mod.jobs === undefined) throw new Error(`${path}: the module must default-export a Fastify plugin or export \`jobs\``);
  return { routes: mod.default as FastifyPluginAsync | undefined, jobs: mod.jobs as Extension['jobs'] };
}
