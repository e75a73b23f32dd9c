// Calls Rampart makes to other services (S3, SMTP), seen by whoever observes them (tracing):
// the same shape as the database's QueryObserver and Redis's CommandObserver, so the platform
// knows nothing of spans.
import type { S3Client } from '@aws-sdk/client-s3';

export interface OutgoingCall {
  name: string;
  /** Low-cardinality facts only: the service, the operation, the peer's host. Never keys, bodies or credentials. */
  attributes: Record<string, string | number>;
}

/** Called as a call starts; the returned function when it ends (with the error when it failed). */
export type OutgoingObserver = (call: OutgoingCall) => (error?: unknown) => void;

/** Tells `done` how `work` ended and hands `work` back unchanged. */
export function reporting<T>(work: Promise<T>, done: (error?: unknown) => void): Promise<T> {
  work.then(() => done(), (error: unknown) => done(error));
  return work;
}

/**
 * One observation per HTTP attempt the AWS SDK makes (retries included), named by the S3
 * operation: placed after signing and retries, just before the request leaves.
 */
export function observeS3Requests(client: S3Client, observe: OutgoingObserver): void {
  client.middlewareStack.add(
    (next, context) => (args) => {
      const request = args.request as { method?: string; hostname?: string; port?: number };
      const operation = (context.commandName ?? 'request').replace(/Command$/, '');
      const done = observe({
        name: `S3 ${operation}`,
        attributes: {
          'rpc.system': 'aws-api',
          'rpc.service': 'S3',
          'rpc.method': operation,
          ...(request.method ? { 'http.request.method': request.method } : {}),
          ...(request.hostname ? { 'server.address': request.hostname } : {}),
          ...(request.port ? { 'server.port': request.port } : {}),
        },
      });
      return reporting(next(args), done);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'rampartObserveRequest', override: true },
  );
}
