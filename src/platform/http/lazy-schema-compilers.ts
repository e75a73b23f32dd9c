import type { FastifyServerOptions } from 'fastify';
import { requireFromPackage } from '../lazy-require.js';

type Compilers = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;
type ValidatorFactory = NonNullable<Compilers['buildValidator']>;
type SerializerFactory = NonNullable<Compilers['buildSerializer']>;
type Compiled = ((...args: unknown[]) => unknown) & { errors?: unknown; schemaEnv?: unknown };
type Factory = (...args: unknown[]) => (routeSchema: unknown) => Compiled;

/**
 * Fastify compiles every route's schemas (Ajv validators, fast-json-stringify serializers)
 * before it listens: ~0.25 s of each start here, most of it for routes a given run never
 * calls. These factories hand Fastify its own default compilers, deferred: each route part
 * is compiled on its first request, or by `compileAll()`, which the server runs in the
 * background once it is listening, so first requests rarely wait and a broken schema is still
 * reported at start.
 */
export interface LazySchemaCompilers {
  compilersFactory: { buildValidator: ValidatorFactory; buildSerializer: SerializerFactory };
  /** Route parts (a body, a response…) not compiled yet. */
  pending(): number;
  /** Compiles whatever has not been compiled yet, one part per turn of the event loop. */
  compileAll(): Promise<{ compiled: number; failures: Error[] }>;
}

export function lazySchemaCompilers(): LazySchemaCompilers {
  // Fastify's own defaults, resolved next to Fastify so the versions match.
  const fromFastify = requireFromPackage('fastify');
  const pending = new Set<() => unknown>();

  const deferred =
    (loadDefault: () => Factory): Factory =>
    (...factoryArgs) => {
      let compiler: ((routeSchema: unknown) => Compiled) | undefined;
      return (routeSchema) => {
        let compiled: Compiled | undefined;
        const now = (): Compiled => {
          if (compiled === undefined) {
            compiler ??= loadDefault()(...factoryArgs);
            compiled = compiler(routeSchema);
            pending.delete(now);
          }
          return compiled;
        };
        pending.add(now);
        const run = function (this: unknown, ...args: unknown[]) {
          return now().apply(this, args);
        } as Compiled;
        // What Fastify reads off an Ajv validator besides calling it.
        Object.defineProperties(run, {
          errors: { get: () => compiled?.errors },
          schemaEnv: { get: () => now().schemaEnv },
        });
        return run;
      };
    };

  // Each package exports a selector; calling it gives the factory Fastify would use.
  const defaultFactory = (name: string) => {
    let factory: Factory | undefined;
    return () => (factory ??= (fromFastify(name) as () => Factory)());
  };
  return {
    compilersFactory: {
      buildValidator: deferred(defaultFactory('@fastify/ajv-compiler')) as unknown as ValidatorFactory,
      buildSerializer: deferred(defaultFactory('@fastify/fast-json-stringify-compiler')) as unknown as SerializerFactory,
    },
    pending: () => pending.size,
    async compileAll() {
      const failures: Error[] = [];
      let compiled = 0;
      for (const compile of [...pending]) {
        await new Promise((resolve) => setImmediate(resolve));
        if (!pending.has(compile)) continue; // a request got there first
        try {
          compile();
          compiled += 1;
        } catch (error) {
          pending.delete(compile);
          failures.push(error instanceof Error ? error : new Error(String(error)));
        }
      }
      return { compiled, failures };
    },
  };
}
