import type { Bindings, ChildLoggerOptions, Logger } from 'pino';

/**
 * Fastify gives every request a child logger. Most requests never log through it (the
 * request line is written separately), so the pino child is built on first use only.
 */
export class LazyChildLogger {
  #parent: Logger | LazyChildLogger;
  #bindings: Bindings;
  #options: ChildLoggerOptions;
  #child: Logger | undefined;

  constructor(parent: Logger | LazyChildLogger, bindings: Bindings, options: ChildLoggerOptions) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#options = options;
  }

  get #logger(): Logger {
    if (this.#child === undefined) {
      const parent = this.#parent instanceof LazyChildLogger ? this.#parent.#logger : this.#parent;
      this.#child = parent.child(this.#bindings, this.#options);
    }
    return this.#child;
  }

  get level(): string {
    return this.#child?.level ?? this.#parent.level;
  }

  set level(level: string) {
    this.#logger.level = level;
  }

  get msgPrefix(): string | undefined {
    return this.#logger.msgPrefix;
  }

  fatal(...args: Parameters<Logger['fatal']>) { this.#logger.fatal(...args); }
  error(...args: Parameters<Logger['error']>) { this.#logger.error(...args); }
  warn(...args: Parameters<Logger['warn']>) { this.#logger.warn(...args); }
  info(...args: Parameters<Logger['info']>) { this.#logger.info(...args); }
  debug(...args: Parameters<Logger['debug']>) { this.#logger.debug(...args); }
  trace(...args: Parameters<Logger['trace']>) { this.#logger.trace(...args); }
  silent(...args: Parameters<Logger['silent']>) { this.#logger.silent(...args); }

  /** Lazy as well: Fastify derives its root logger once and every request's logger from that. */
  child(bindings: Bindings, options?: ChildLoggerOptions): LazyChildLogger {
    return new LazyChildLogger(this, bindings, options ?? {});
  }

  isLevelEnabled(level: string): boolean {
    return this.#parent.isLevelEnabled(level);
  }
}

/**
 * `logger` with a `child()` that builds a LazyChildLogger, for use as Fastify's root logger.
 * A custom `childLoggerFactory` would do the same, but Fastify then re-checks the returned
 * logger's seven methods on every request; its default factory calls `child()` unchecked.
 * The children offer the log methods, `level`, `child` and `isLevelEnabled`, not all of pino.
 */
export function withLazyChildren(logger: Logger): Logger {
  const root = Object.create(logger) as Logger;
  root.child = ((bindings: Bindings, options?: ChildLoggerOptions) => new LazyChildLogger(logger, bindings, options ?? {})) as unknown as Logger['child'];
  return root;
}
