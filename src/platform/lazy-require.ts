import { createRequire } from 'node:module';

/** Rampart's own `require`: resolves from Rampart's node_modules, bundled or not. */
export const requireFromRampart = createRequire(import.meta.url);

/** A `require` that resolves as code inside `packageName` does: its dependencies, at the versions it gets. */
export function requireFromPackage(packageName: string): NodeJS.Require {
  return createRequire(requireFromRampart.resolve(packageName));
}

/**
 * A CommonJS package loaded on first use instead of at start-up: an embedded start never
 * opens `ioredis`, `pg`, `nodemailer` or `qrcode` (docs/decisions.md, "Embedded start").
 * The bundler does not follow `createRequire`, so these stay ordinary packages.
 */
export function lazyRequire<T>(specifier: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= requireFromRampart(specifier) as T);
}
