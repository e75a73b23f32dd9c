import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { pathOf } from './probe-paths.js';
import { PROBLEM_TITLES, type ProblemSlug } from './problem-types.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

export interface FieldError {
  /** JSON pointer into the request part, e.g. `body/email`. */
  field: string;
  message: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  correlation_id: string;
  errors?: FieldError[];
}

// Relative type URIs: stable identifiers documented in docs/problems.md.
export const problemType = (slug: string) => `/problems/${slug}`;

export function sendProblem(reply: FastifyReply, status: number, slug: ProblemSlug, detail: string, errors?: FieldError[]): FastifyReply {
  const problem: Problem = { type: problemType(slug), title: PROBLEM_TITLES[slug], status, detail, correlation_id: String(reply.request.id) };
  if (errors) problem.errors = errors;
  return reply.code(status).type(PROBLEM_CONTENT_TYPE).send(problem);
}

interface KnownError {
  status: number;
  slug: ProblemSlug;
  detail: string;
}

// Fastify's own client errors, each with a message a caller can act on. Anything not
// listed and not a deliberate 4xx is a 500 whose detail says nothing about internals.
const FASTIFY_ERRORS: Record<string, KnownError> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, slug: 'unsupported-media-type', detail: 'This endpoint does not accept the request body\'s Content-Type; send application/json.' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, slug: 'payload-too-large', detail: 'The request body is larger than this server accepts.' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, slug: 'invalid-content-length', detail: 'The Content-Length header does not match the body.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, slug: 'malformed-json', detail: 'The body is empty but Content-Type is application/json.' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, slug: 'malformed-json', detail: 'The request body is not valid JSON.' },
  FST_ERR_CTP_EMPTY_TYPE: { status: 415, slug: 'unsupported-media-type', detail: 'The request has a body but no Content-Type.' },
  FST_ERR_CTP_INVALID_TYPE: { status: 415, slug: 'unsupported-media-type', detail: 'The Content-Type header is invalid.' },
  FST_ERR_BAD_URL: { status: 400, slug: 'bad-url', detail: 'The request URL is malformed.' },
  FST_ERR_ASYNC_CONSTRAINT: { status: 400, slug: 'bad-request', detail: 'The request could not be routed.' },
};

/** An error a route throws on purpose: its status and detail are for the client. */
export class HttpProblem extends Error {
  constructor(readonly status: number, readonly slug: ProblemSlug, detail: string, readonly errors?: FieldError[]) {
    super(detail);
    this.name = 'HttpProblem';
  }
}

/**
 * A schema names what it expects in words with `x-error-message` (e.g. an email address),
 * used instead of Ajv's text for any failure of that value but a missing one: "must match
 * pattern "^[A-Za-z0-9._%+-]{1,64}@…"" tells a caller nothing.
 */
export const ERROR_MESSAGE_KEYWORD = 'x-error-message';

function validationErrors(error: FastifyError): FieldError[] {
  return (error.validation ?? []).map((v) => {
    const missing = v.keyword === 'required' ? `/${String((v.params as { missingProperty?: string }).missingProperty ?? '')}` : '';
    const where = `${error.validationContext ?? 'body'}${v.instancePath}${missing}`;
    const described = v.keyword === 'required' ? undefined : (v as { parentSchema?: Record<string, unknown> }).parentSchema?.[ERROR_MESSAGE_KEYWORD];
    return { field: where, message: typeof described === 'string' ? described : (v.message ?? 'is invalid') };
  });
}

/** A dependency that is down for this request, recognised from the error its client threw. */
export interface Outage {
  slug: ProblemSlug;
  /** Named in `detail`, e.g. "database". */
  dependency: string;
  /** For the log: short, with no host, user or secret in it. */
  reason: string;
}

/** Recognises one dependency's outages among thrown errors; undefined for anything else. */
export type OutageClassifier = (error: unknown) => Outage | undefined;

// The same wait the other dependency outages ask for (identity provider, fail-closed rate limits).
const OUTAGE_RETRY_AFTER_S = 5;

/** Told of every error answered 5xx (never a client's 4xx), before the answer is sent. */
export type ServerErrorObserver = (error: unknown, request: FastifyRequest, status: number) => void;

function answerError(error: FastifyError, request: FastifyRequest, reply: FastifyReply, options: ProblemDetailsOptions = {}): FastifyReply {
  if (error instanceof HttpProblem) {
    return sendProblem(reply, error.status, error.slug, error.message, error.errors);
  }
  if (error.validation) {
    // A well-formed body that breaks the schema is 422; bad query/params/headers are 400.
    const status = error.validationContext === 'body' ? 422 : 400;
    return sendProblem(reply, status, 'validation-failed', 'One or more fields are invalid; see errors.', validationErrors(error));
  }
  const known = (error.code && FASTIFY_ERRORS[error.code]) || (error instanceof SyntaxError && error.statusCode === 400 ? FASTIFY_ERRORS.FST_ERR_CTP_INVALID_JSON_BODY : undefined);
  if (known) return sendProblem(reply, known.status, known.slug, known.detail);
  for (const classify of options.outages ?? []) {
    const outage = classify(error);
    if (!outage) continue;
    // Our failure, not the client's: error level, a 5xx in the metrics, nothing of it in the answer.
    request.log.error({ dependency: outage.dependency, reason: outage.reason }, 'dependency unavailable');
    options.onServerError?.(error, request, 503);
    reply.header('retry-after', String(OUTAGE_RETRY_AFTER_S));
    return sendProblem(reply, 503, outage.slug, `The ${outage.dependency} is unavailable right now; retry after ${OUTAGE_RETRY_AFTER_S} seconds.`);
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    request.log.info({ err: error }, 'client error');
    return sendProblem(reply, status, 'client-error', 'The request could not be processed.');
  }
  request.log.error({ err: error }, 'unhandled error');
  const unavailable = status === 503;
  options.onServerError?.(error, request, unavailable ? 503 : 500);
  return sendProblem(
    reply,
    unavailable ? 503 : 500,
    unavailable ? 'service-unavailable' : 'internal-error',
    `The server could not complete the request. Quote correlation id ${request.id} when reporting it.`,
  );
}

export interface ProblemDetailsOptions {
  /** Errors that mean a dependency is down: 503 with `Retry-After` instead of a 500. */
  outages?: readonly OutageClassifier[];
  /** Error reports: each 5xx with the error behind it. */
  onServerError?: ServerErrorObserver;
}

export const problemDetails = fp(
  async (app: FastifyInstance, options: ProblemDetailsOptions) => {
    app.setErrorHandler((error: FastifyError, request, reply) => answerError(error, request, reply, options));
    app.setNotFoundHandler((request, reply) => sendProblem(reply, 404, 'not-found', `No route matches ${request.method} ${pathOf(request.url).slice(0, 200)}.`));
  },
  { name: 'rampart-problem-details' },
);

/** For Fastify's `frameworkErrors` option: errors raised before routing get the same shape. */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  answerError(error, request, reply);
}
