import pino, { type DestinationStream, type Logger } from 'pino';
import { createRedactor, type Redactor } from './redact.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level: string;
  /** Names of configuration keys marked secret (env and property spellings). */
  secretKeys: readonly string[];
  /** Current secret values, scrubbed from any string that reaches a log line. */
  secretValues: readonly string[];
  destination?: DestinationStream;
}

export interface Logging {
  logger: Logger;
  redactor: Redactor;
  /** Where lines go: the request log writes here directly. */
  destination: DestinationStream;
  /** Writes buffered lines now (shutdown, tests). */
  flush(): void;
}

// Lines are written in batches of at least this many bytes, or every FLUSH_INTERVAL_MS:
// one write syscall per ~20 lines instead of one per line. A SIGKILL loses at most that
// interval of logs; normal exits flush synchronously.
const BATCH_BYTES = 8192;
const FLUSH_INTERVAL_MS = 200;

export function createLogging(options: LoggerOptions): Logging {
  const redactor = createRedactor(options.secretKeys, options.secretValues);
  const boom = options.destination ? undefined : pino.destination({ dest: 1, sync: true, minLength: BATCH_BYTES });
  const destination = options.destination ?? boom!;
  if (boom) setInterval(() => boom.flush(), FLUSH_INTERVAL_MS).unref();
  const logger = pino(
    {
      level: options.level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => redactor.redact(object) as Record<string, unknown>,
      },
      hooks: {
        // Messages are free text; a secret interpolated into one is still a secret.
        logMethod(args, method) {
          const scrubbed = args.map((arg) => (typeof arg === 'string' ? redactor.scrub(arg) : arg));
          method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
    },
    destination,
  );
  return {
    logger,
    redactor,
    destination,
    flush: () => {
      try {
        boom?.flushSync();
      } catch {
        // not open yet: nothing was written, so nothing to flush
      }
    },
  };
}

export function createLogger(options: LoggerOptions): Logger {
  return createLogging(options).logger;
}
