import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { CORRELATION_HEADER } from './correlation-id.js';
import { PROBLEM_CONTENT_TYPE, problemType, type Problem } from './problem.js';
import { PROBLEM_TITLES, type ProblemSlug } from './problem-types.js';

interface Refusal {
  status: number;
  slug: ProblemSlug;
  detail: string;
}

const malformed = (detail: string): Refusal => ({ status: 400, slug: 'malformed-request', detail });

// Node's own errors (its timeouts, llhttp's parse errors), in words a client can act on.
const REFUSALS: Record<string, Refusal> = {
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, slug: 'request-timeout', detail: 'The request did not arrive in time; send it again without pausing.' },
  HPE_HEADER_OVERFLOW: { status: 431, slug: 'headers-too-large', detail: 'The request headers are larger than the 16 KB this server accepts.' },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: 413, slug: 'payload-too-large', detail: 'The chunk extensions of the body are larger than this server accepts.' },
  HPE_INVALID_METHOD: malformed('The request method is not a valid HTTP method.'),
  HPE_INVALID_TRANSFER_ENCODING: malformed('Transfer-Encoding is invalid or sent together with Content-Length; send only one of them.'),
  HPE_UNEXPECTED_CONTENT_LENGTH: malformed('Content-Length is repeated or sent together with Transfer-Encoding; send it once, or only Transfer-Encoding.'),
  HPE_INVALID_CONTENT_LENGTH: malformed('Content-Length is not a valid number.'),
  HPE_INVALID_URL: malformed('The URL has characters that must be percent-encoded (non-ASCII letters, spaces, control characters).'),
  HPE_INVALID_HEADER_TOKEN: malformed('A header name or value has characters HTTP does not allow.'),
  HPE_INVALID_VERSION: malformed('The HTTP version is not supported; send HTTP/1.1.'),
};
const NOT_HTTP = malformed('The request is not valid HTTP/1.1.');
const LINGER_MS = 1_000;

export interface MalformedRequestOptions {
  /** The security header set every response carries. */
  headers: Readonly<Record<string, string>>;
  logger: Pick<Logger, 'info' | 'debug'>;
}

/**
 * For Fastify's `clientErrorHandler` (the server's 'clientError' event): a request Node refuses
 * before Rampart sees it (not HTTP, too slow, headers too large) gets problem+json with the
 * same security headers as every other response, then the connection is closed, as Node does.
 */
export function refuseMalformedRequests(options: MalformedRequestOptions): (error: Error & { code?: string }, socket: Socket) => void {
  const fixedHeaders = Object.entries(options.headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  // Node keeps feeding what the client sends to the failed parser, which reports it again.
  const answered = new WeakSet<Socket>();
  return (error, socket) => {
    // A reset connection has nobody left to answer.
    if (error.code === 'ECONNRESET' || socket.destroyed || answered.has(socket)) return;
    answered.add(socket);
    const refusal = REFUSALS[error.code ?? ''] ?? NOT_HTTP;
    const correlationId = randomUUID();
    // A connection opened and never used (a browser's preconnect) also times out: nothing was asked.
    const log = socket.bytesRead > 0 ? options.logger.info.bind(options.logger) : options.logger.debug.bind(options.logger);
    log({ correlation_id: correlationId, status: refusal.status, code: error.code }, 'malformed request refused');
    // As Node does: never write into the middle of an answer already under way on this connection.
    const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) {
      const problem: Problem = { type: problemType(refusal.slug), title: PROBLEM_TITLES[refusal.slug], status: refusal.status, detail: refusal.detail, correlation_id: correlationId };
      const body = JSON.stringify(problem);
      socket.end(
        `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status] ?? ''}\r\n` +
          `content-type: ${PROBLEM_CONTENT_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n` +
          `${CORRELATION_HEADER}: ${correlationId}\r\n${fixedHeaders}\r\n${body}`,
      );
    }
    // Closing at once could reset the connection before the client has read the answer (it may
    // still be sending); it gets a moment to read it and hang up itself.
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };
}
