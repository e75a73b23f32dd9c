import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { packageVersion } from '../../package-info.js';
import { serviceIndex } from './service-index.js';

async function root(options: { production: boolean; docs: boolean }, ownRoot?: () => Promise<unknown>) {
  const app = Fastify();
  if (ownRoot) app.get('/', ownRoot);
  serviceIndex(app, options);
  return app.inject('/');
}

describe('GET /', () => {
  it('in development: the service, its version, and links to the docs and the probes', async () => {
    const res = await root({ production: false, docs: true });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      service: 'rampart',
      version: packageVersion,
      links: { docs: '/docs', openapi: '/openapi.json', health: '/health', readiness: '/readiness' },
    });
  });

  it('in production: no version, and no docs link while the docs are off', async () => {
    const res = await root({ production: true, docs: false });
    expect(res.json()).toEqual({ service: 'rampart', links: { health: '/health', readiness: '/readiness' } });
    expect(res.body).not.toContain(packageVersion);
  });

  it('leaves `/` to a plugin that serves it', async () => {
    const res = await root({ production: false, docs: true }, async () => ({ mine: true }));
    expect(res.json()).toEqual({ mine: true });
  });
});
