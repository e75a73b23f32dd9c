import pino, { type DestinationStream, type Logger } from 'pino';
import { createRedactor } from './redact.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level: string;
  /** Names of configuration keys marked secret (env and property spellings). */
  secretKeys: readonly string[];
  /** Current secret values, scrubbed from any string that reaches a log line. */
  secretValues: readonly string[];
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const redactor = createRedactor(options.secretKeys, options.secretValues);
  return pino(
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
    // Asynchronous writes keep logging off the request path; flushed on close.
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
