// The bundle's own Kysely, as a module of its own (dist/extensions/kysely.mjs): `--plugin`
// modules that import 'kysely' are resolved here (see src/cli/extension-resolve-hooks.ts),
// so they share one copy with Rampart.
export * from 'kysely';
