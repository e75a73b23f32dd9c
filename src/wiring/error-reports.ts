// Error reports for a process, when SENTRY_DSN is set: the SDK is imported here and only
// here, so a process without a DSN never loads it. Also what reports an error: requests
// answered 5xx, jobs that die, and errors nothing caught (process-level).
import type { FastifyRequest } from 'fastify';
import type { Config } from '../config/schema.js';
import { API_KEY_IN_TEXT } from '../features/auth/primitives/api-key-format.js';
import { sentryDsnProblem } from '../config/sentry-dsn.js';
import { buildGitSha, packageRoot, packageVersion } from '../package-info.js';
import type { ErrorReports } from '../platform/error-reports/error-reports.js';
import type { Logging } from '../platform/log/logger.js';
import type { DeadJob } from '../platform/queue/job-worker.js';
import type { SecretStore } from '../platform/secrets/secret-store.js';
import type { Tracing } from '../platform/tracing/tracing.js';

// An envelope not answered within this long is abandoned; reports never wait on a request.
const SEND_TIMEOUT_MS = 5_000;
// How long an exiting process waits for its last reports (a crash, a shutdown).
export const FLUSH_ON_EXIT_MS = 2_000;

/** The release name every report carries and `rampart release` creates: RAMPART_RELEASE, else the build's git SHA. */
export function releaseName(config: Pick<Config, 'rampartRelease'>): string {
  return config.rampartRelease ?? (buildGitSha !== 'unknown' ? buildGitSha : `rampart@${packageVersion}`);
}

export async function startErrorReportsIfConfigured(config: Config, secrets: SecretStore, logging: Logging): Promise<ErrorReports | undefined> {
  if (config.sentryDsn === undefined) return undefined;
  const { startErrorReports } = await import('../platform/error-reports/start-error-reports.js');
  const reports = startErrorReports({
    dsn: config.sentryDsn,
    release: releaseName(config),
    environment: config.env,
    packageRoot,
    redact: (value) => logging.redactor.redact(value),
    credentialPatterns: [API_KEY_IN_TEXT],
    sendTimeoutMs: SEND_TIMEOUT_MS,
  });
  // A rotated DSN (another project, a revoked key) takes effect without a restart. Redaction has
  // learnt the new value before this listener runs (redactRotatedSecrets is registered first).
  secrets.onChange((keys) => {
    if (!keys.includes('SENTRY_DSN')) return;
    const dsn = secrets.get('SENTRY_DSN');
    const problem = dsn === undefined ? undefined : sentryDsnProblem(dsn);
    if (problem) {
      logging.logger.error({ problem }, 'rotated SENTRY_DSN is not a valid DSN; keeping the one in use');
      return;
    }
    reports.replaceDsn(dsn);
    logging.logger.info({ reports: dsn === undefined ? 'off' : 'on' }, 'SENTRY_DSN replaced');
  });
  return reports;
}

/**
 * Errors nothing caught end the process, as they would without Sentry, once their report is
 * sent (at most FLUSH_ON_EXIT_MS). Returns the remover, for a process that stops normally.
 */
export function reportUncaughtErrors(reports: ErrorReports, logging: Logging, tracing: Tracing | undefined): () => void {
  let exiting = false;
  const onFatal = (error: unknown, origin: string) => {
    const traceId = tracing?.activeTraceIds()?.traceId;
    logging.logger.fatal({ err: error, origin, trace_id: traceId }, 'unhandled error; exiting');
    if (exiting) return;
    exiting = true;
    reports.captureError(error, { level: 'fatal', traceId, tags: { mechanism: origin } });
    void reports.flush(FLUSH_ON_EXIT_MS).finally(() => {
      logging.flush();
      process.exit(1);
    });
  };
  const onException = (error: Error, origin: string) => onFatal(error, origin);
  const onRejection = (reason: unknown) => onFatal(reason, 'unhandledRejection');
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}

/** For the HTTP error handler: a request answered 5xx because of `error`. */
export function reportServerErrors(reports: ErrorReports, tracing: Tracing | undefined) {
  return (error: unknown, request: FastifyRequest, status: number): void =>
    reports.captureError(error, {
      correlationId: request.id,
      traceId: tracing?.requestTraceIds(request)?.traceId,
      request: { method: request.method, url: request.url },
      // The route pattern, never the raw path: bounded, and no ids or tokens from the URL.
      tags: { 'http.method': request.method, 'http.route': request.routeOptions.url ?? 'unmatched', 'http.status_code': String(status) },
    });
}

/** For the job worker: a job failed for the last time, or its worker died holding it on its last attempt. */
export function reportDeadJobs(reports: ErrorReports, tracing: Tracing | undefined) {
  return (job: DeadJob, error: unknown): void => {
    const context = {
      correlationId: job.correlationId,
      // Inside the job's span when it failed in this process: the trace of the request that enqueued it.
      traceId: tracing?.activeTraceIds()?.traceId,
      tags: { 'job.type': job.type, 'job.id': job.id, 'job.attempt': String(job.attempt) },
    };
    if (error === undefined) reports.captureMessage(`job ${job.type} dead-lettered: its worker stopped renewing the lease on its last attempt`, context);
    else reports.captureError(error, context);
  };
}
