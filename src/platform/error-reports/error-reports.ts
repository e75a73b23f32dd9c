// What the rest of Rampart sees of error reporting. Only types live here: the Sentry SDK is
// in start-error-reports.ts, loaded by dynamic import when SENTRY_DSN is set, so a process
// without one loads none of it and pays nothing.

/** Where and why an error happened; becomes the event's tags. Never a header, body or query string. */
export interface ReportContext {
  correlationId?: string;
  /** The trace the error happened in, while tracing is on. */
  traceId?: string;
  /** A few labels (route pattern, method, status, job type); no user ids or raw paths. */
  tags?: Record<string, string>;
  /** The request that failed: method and URL (its query string is dropped before sending). */
  request?: { method: string; url: string };
  /** How bad: `fatal` for a process about to exit. Default `error`. */
  level?: 'fatal' | 'error' | 'warning';
}

export interface TransportStatus {
  ok: boolean;
  details: string;
}

export interface ErrorReports {
  /** Queues a report and returns at once: a slow or unreachable Sentry never holds up the caller. */
  captureError(error: unknown, context: ReportContext): void;
  /** A failure that is not an exception (a job whose worker died). */
  captureMessage(message: string, context: ReportContext): void;
  /** What happened to the last envelope sent: accepted, refused or unanswered. Never the DSN. */
  transportStatus(): TransportStatus;
  /** Re-creates the client for a rotated DSN; a malformed one is refused and the old one kept. */
  replaceDsn(dsn: string | undefined): void;
  /** Sends what is queued, waiting at most `timeoutMs`; resolves false when some was left. */
  flush(timeoutMs: number): Promise<boolean>;
  /** Flushes (bounded) and stops. */
  close(timeoutMs: number): Promise<void>;
}

export interface ErrorReportsSettings {
  dsn: string;
  /** `release` of every event: the build's git SHA, or RAMPART_RELEASE. */
  release: string;
  /** `environment` of every event: RAMPART_ENV. */
  environment: string;
  /** Directory stack frame paths are made relative to (`app:///dist/rampart.mjs`), matching the uploaded source maps. */
  packageRoot: string;
  /** Scrubs every string of an event (secret values) and every secret-named key, at any depth. */
  redact(value: unknown): unknown;
  /** Credentials recognisable by their shape (API keys with a known prefix), scrubbed from any text; global regexes. */
  credentialPatterns: readonly RegExp[];
  /** An envelope not answered within this long is abandoned and the transport reported unhealthy. */
  sendTimeoutMs: number;
}
