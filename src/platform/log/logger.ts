import pino, { type DestinationStream, type Logger } from 'pino';
import { createBatchedWriter } from './batched-writer.js';
import { createRedactor, type Redactor } from './redact.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level: string;
  /** Names of configuration keys marked secret (env and property spellings). */
  secretKeys: readonly string[];
  /** Current secret values, scrubbed from any string that reaches a log line. */
  secretValues: readonly string[];
  destination?: DestinationStream;
  /** Fields added to every line (the active span's trace and span ids, while tracing is on). */
  mixin?: () => Record<string, unknown>;
}

export interface Logging {
  logger: Logger;
  redactor: Redactor;
  /** Where lines go: the request log writes here directly. */
  destination: DestinationStream;
  /** Writes buffered lines now (shutdown, tests). */
  flush(): void;
}

export function createLogging(options: LoggerOptions): Logging {
  const redactor = createRedactor(options.secretKeys, options.secretValues);
  // Batched writes to stdout: one syscall per ~25 lines. A SIGKILL loses at most the last
  // 200 ms of lines; every normal exit flushes.
  const batched = options.destination ? undefined : createBatchedWriter(1);
  if (batched) process.once('exit', () => batched.end());
  const destination: DestinationStream = options.destination ?? batched!;
  const logger = pino(
    {
      level: options.level,
      base: undefined,
      ...(options.mixin ? { mixin: options.mixin } : {}),
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
    flush: () => batched?.flushSync(),
  };
}

export function createLogger(options: LoggerOptions): Logger {
  return createLogging(options).logger;
}
