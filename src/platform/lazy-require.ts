import { createRequire } from 'node:module';

const requireFromRampart = createRequire(import.meta.url);

/**
 * A CommonJS package loaded on first use instead of at start-up: an embedded start never
 * opens `ioredis`, `pg`, `nodemailer` or `qrcode` (docs/decisions.md, "Embedded start").
 * The bundler does not follow `createRequire`, so these stay ordinary packages.
 */
export function lazyRequire<T>(specifier: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= requireFromRampart(specifier) as T);
}
