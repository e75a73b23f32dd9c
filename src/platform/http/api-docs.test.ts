import { createRequire, Module } from 'node:module';
import { describe, expect, it } from 'vitest';
import { shareYamlWithSwaggerUi } from './api-docs.js';

describe('shareYamlWithSwaggerUi', () => {
  const ownRequire = createRequire(import.meta.url);
  const uiRequire = createRequire(ownRequire.resolve('@fastify/swagger-ui'));
  const path = uiRequire.resolve('yaml');

  it("puts Rampart's own yaml module where Swagger UI's require('yaml') finds it, instead of a second load", async () => {
    const cached = ownRequire.cache[path];
    delete ownRequire.cache[path];
    try {
      await shareYamlWithSwaggerUi();
      const entry = ownRequire.cache[path];
      expect(entry).toBeInstanceOf(Module);
      expect(entry?.loaded).toBe(true);
      const uiYaml = uiRequire('yaml') as { stringify(value: unknown): string };
      expect(uiYaml).toBe(entry?.exports);
      // Rampart's own copy, not the new exports object a fresh CommonJS load would make.
      expect(uiYaml).toBe((await import('yaml')).default);
      expect(uiYaml.stringify({ openapi: '3.1.0' })).toBe('openapi: 3.1.0\n');
    } finally {
      if (cached) ownRequire.cache[path] = cached;
      else delete ownRequire.cache[path];
    }
  });

  it('leaves a module that is already loaded alone', async () => {
    const loaded = ownRequire('yaml') as unknown;
    await shareYamlWithSwaggerUi();
    expect(ownRequire.cache[path]?.exports).toBe(loaded);
  });
});
