import type { Bindings, ChildLoggerOptions, Logger } from 'pino';

/**
 * Fastify gives every request a child logger. Most requests never log through it (the
 * request line is written separately), so the pino child is built on first use only.
 */
export class LazyChildLogger {
  #parent: Logger;
  #bindings: Bindings;
  #options: ChildLoggerOptions;
  #child: Logger | undefined;

  constructor(parent: Logger, bindings: Bindings, options: ChildLoggerOptions) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#options = options;
  }

  get #logger(): Logger {
    this.#child ??= this.#parent.child(this.#bindings, this.#options);
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

  child(bindings: Bindings, options?: ChildLoggerOptions): Logger {
    return this.#logger.child(bindings, options);
  }

  isLevelEnabled(level: string): boolean {
    return this.#parent.isLevelEnabled(level);
  }
}
