import * as http from 'node:http';
import * as https from 'node:https';
import {
  defaultStackParser,
  linkedErrorsIntegration,
  makeNodeTransport,
  NodeClient,
  nodeContextIntegration,
  rewriteFramesIntegration,
  Scope,
  type Breadcrumb,
  type Event,
  type NodeOptions,
} from '@sentry/node';
import type { ErrorReports, ErrorReportsSettings, ReportContext, TransportStatus } from './error-reports.js';

/**
 * Starts a Sentry client of this process's own, on a scope of its own: no global client, no
 * OpenTelemetry setup of Sentry's (Rampart's tracing owns the tracer provider and context
 * manager), no automatic instrumentation and no process handlers (the caller installs those,
 * logging through the redacting logger). A rotated DSN replaces the client.
 */
export function startErrorReports(settings: ErrorReportsSettings): ErrorReports {
  let status: TransportStatus = { ok: true, details: 'no report sent yet' };
  const recordAnswer = (statusCode: number | undefined) => {
    const at = new Date().toISOString();
    status = statusCode !== undefined && statusCode >= 200 && statusCode < 300
      ? { ok: true, details: `last report accepted at ${at}` }
      : { ok: false, details: `last report refused at ${at} (HTTP ${statusCode ?? 'unknown'})` };
  };
  const recordFailure = (error: Error) => {
    status = { ok: false, details: `last report not delivered at ${new Date().toISOString()} (${failureReason(error)})` };
  };

  // Node's request with a deadline: Sentry's transport sets none, so an endpoint that accepts the
  // connection and never answers would hold a send slot for ever (at most 64 are queued, then
  // reports are dropped; never a request of ours).
  const observed = (module: typeof http | typeof https) => ({
    request(options: http.RequestOptions, callback?: (response: http.IncomingMessage) => void): http.ClientRequest {
      const request = module.request(options, (response) => {
        recordAnswer(response.statusCode);
        callback?.(response);
      });
      request.setTimeout(settings.sendTimeoutMs, () => request.destroy(new SendTimeout(settings.sendTimeoutMs)));
      request.on('error', recordFailure);
      return request;
    },
  });

  const scrub = <E extends Event>(event: E): E => scrubEvent(event, settings);
  const createClient = (dsn: string) => {
    const client = new NodeClient({
      dsn,
      release: settings.release,
      environment: settings.environment,
      transport: (options) => makeNodeTransport({ ...options, httpModule: observed(options.url.startsWith('https:') ? https : http) }),
      stackParser: defaultStackParser,
      // Cause chains; frame paths relative to the package (`app:///dist/rampart.mjs`), as the
      // source maps `rampart release` uploads are named; runtime and OS.
      integrations: [linkedErrorsIntegration(), rewriteFramesIntegration({ root: settings.packageRoot, prefix: 'app:///' }), nodeContextIntegration()],
      enableOpenTelemetrySetup: false,
      enableRuntimeChannelInjection: false,
      sendClientReports: false,
      // Nothing of a request, user, query or variable is collected in the first place; what an
      // error message or stack still carries is scrubbed in beforeSend.
      dataCollection: NO_DATA_COLLECTION,
      beforeSend: scrub,
      beforeSendTransaction: scrub,
      beforeBreadcrumb: (breadcrumb: Breadcrumb) => scrubBreadcrumb(breadcrumb, settings),
    });
    const scope = new Scope();
    scope.setClient(client);
    client.init();
    return { client, scope };
  };

  let current: ReturnType<typeof createClient> | undefined = createClient(settings.dsn);
  const withContext = (context: ReportContext, capture: (scope: Scope) => void) => {
    if (!current) return;
    const scope = current.scope.clone();
    scope.setLevel(context.level ?? 'error');
    const tags: Record<string, string> = { ...context.tags };
    if (context.correlationId) tags.correlation_id = context.correlationId;
    if (context.traceId) tags.trace_id = context.traceId;
    scope.setTags(tags);
    const request = context.request;
    if (request) scope.addEventProcessor((event) => ({ ...event, request: { method: request.method, url: request.url } }));
    capture(scope);
  };

  return {
    captureError: (error, context) => withContext(context, (scope) => void scope.captureException(error)),
    captureMessage: (message, context) => withContext(context, (scope) => void scope.captureMessage(message)),
    transportStatus: () => status,
    replaceDsn(dsn) {
      const previous = current;
      current = dsn === undefined ? undefined : createClient(dsn);
      status = dsn === undefined ? { ok: true, details: 'SENTRY_DSN removed; reports are off' } : { ok: true, details: 'DSN replaced; no report sent yet' };
      // What the old client still holds goes out to the old project, in the background.
      void previous?.client.close(settings.sendTimeoutMs);
    },
    flush: async (timeoutMs) => (current ? current.client.flush(timeoutMs) : true),
    async close(timeoutMs) {
      await current?.client.close(timeoutMs);
      current = undefined;
    },
  };
}

const NO_DATA_COLLECTION: NonNullable<NodeOptions['dataCollection']> = {
  userInfo: false,
  cookies: false,
  httpHeaders: false,
  httpBodies: [],
  urlQueryParams: false,
  graphQL: { document: false, variables: false },
  genAI: { inputs: false, outputs: false },
  mcp: { inputs: false, outputs: false },
  databaseQueryData: false,
  queues: false,
  stackFrameVariables: false,
  frameContextLines: 0,
};

class SendTimeout extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'SendTimeout';
  }
}

// Short, without host or DSN: "connection refused", "no answer within 5000 ms".
function failureReason(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (error instanceof SendTimeout) return error.message;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
  if (code === 'ECONNRESET') return 'connection reset';
  return code ?? error.name;
}

// Credentials that reach free text (an error message quoting the header it was given) although
// no setting holds their value: `Bearer …`/`Basic …`, and every query string (`?access_token=…`,
// signed URLs, reset links), wherever they appear (request URL, message, breadcrumb).
const CREDENTIALS_IN_TEXT: ReadonlyArray<[RegExp, string]> = [
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [redacted]'],
  [/\?[^\s#"'<>\\=?]+=[^\s#"'<>\\]*/g, '?[redacted]'],
];

/**
 * What leaves the process: no request body, headers, cookies or query string at all (only method
 * and path are kept), then the logs' redactor over the whole event (secret values anywhere,
 * secret-named keys at any depth), then credentials recognisable in text.
 */
export function scrubEvent<E extends Event>(event: E, settings: Pick<ErrorReportsSettings, 'redact' | 'credentialPatterns'>): E {
  const request = event.request;
  const trimmed: Event = { ...event };
  if (request) trimmed.request = { method: request.method, url: request.url?.split('?')[0] };
  if (event.breadcrumbs) trimmed.breadcrumbs = event.breadcrumbs.map(({ data: _data, ...breadcrumb }) => breadcrumb);
  return scrubText(settings.redact(trimmed), settings.credentialPatterns) as E;
}

export function scrubBreadcrumb(breadcrumb: Breadcrumb, settings: Pick<ErrorReportsSettings, 'redact' | 'credentialPatterns'>): Breadcrumb {
  return scrubText(settings.redact(breadcrumb), settings.credentialPatterns) as Breadcrumb;
}

// On the serialised event: every string at any depth, in one pass per pattern. No pattern
// matches a quote or a backslash, so the JSON stays well-formed.
function scrubText(value: unknown, extra: readonly RegExp[]): unknown {
  let json = JSON.stringify(value);
  for (const [pattern, replacement] of CREDENTIALS_IN_TEXT) json = json.replace(pattern, replacement);
  for (const pattern of extra) json = json.replace(pattern, '[redacted]');
  return JSON.parse(json) as unknown;
}
