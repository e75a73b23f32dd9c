// Module customisation hooks (node:module `register`) for `--plugin` modules when Rampart runs
// from its bundle: Kysely is inlined there, so a plugin's `import … from 'kysely'` would load a
// second copy from node_modules, whose classes (`Kysely`, `NoResultError`, …) are not the ones
// of the `db` Rampart hands it. Bare `kysely` is answered with the bundle's own copy instead.
// Runs on Node's loader thread: keep it free of imports.
import type { InitializeHook, ResolveHook } from 'node:module';

let sharedKyselyUrl: string | undefined;

export const initialize: InitializeHook<{ kyselyUrl: string }> = (data) => {
  sharedKyselyUrl = data.kyselyUrl;
};

export const resolve: ResolveHook = (specifier, context, nextResolve) => {
  if (specifier === 'kysely' && sharedKyselyUrl !== undefined) return { url: sharedKyselyUrl, format: 'module', shortCircuit: true };
  return nextResolve(specifier, context);
};
