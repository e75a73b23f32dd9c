import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import helmet, { type HelmetOptions } from 'helmet';
import { CORRELATION_HEADER } from './correlation-id.js';

export interface SecurityHeadersOptions {
  /** Send HSTS (only where HTTPS is enforced: a browser that sees it over plain HTTP on localhost is stuck). */
  hsts: boolean;
}

// API responses never need scripts, frames or forms from anywhere; pages that do (the API
// docs, the console) set their own policy on their own routes.
export const API_CSP_DIRECTIVES = {
  defaultSrc: ["'self'"],
  baseUri: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  objectSrc: ["'none'"],
  scriptSrc: ["'self'"],
  scriptSrcAttr: ["'none'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  fontSrc: ["'self'"],
  upgradeInsecureRequests: null,
};

/**
 * The security header set, computed once by helmet and then copied onto every response
 * (errors and 404s included) in one onRequest hook. Running helmet per request would
 * rebuild identical strings each time.
 */
export function securityHeaderSet(options: SecurityHeadersOptions): Record<string, string> {
  const helmetOptions: HelmetOptions = {
    contentSecurityPolicy: { useDefaults: false, directives: { ...API_CSP_DIRECTIVES, upgradeInsecureRequests: options.hsts ? [] : null } },
    strictTransportSecurity: options.hsts ? { maxAge: 31_536_000, includeSubDomains: true, preload: true } : false,
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'strict-origin-when-cross-origin' },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
  };
  const headers: Record<string, string> = {};
  const res = {
    setHeader: (name: string, value: string | number | readonly string[]) => { headers[name.toLowerCase()] = String(value); },
    removeHeader: (name: string) => { delete headers[name.toLowerCase()]; },
  };
  helmet(helmetOptions)({} as IncomingMessage, res as unknown as ServerResponse, () => {});
  headers['permissions-policy'] = 'geolocation=(), microphone=(), camera=()';
  return headers;
}

/** The security header set and the request's correlation id, on every reply, in one hook. */
export const securityHeaders = fp(
  async (app: FastifyInstance, options: SecurityHeadersOptions) => {
    const headers = securityHeaderSet(options);
    app.addHook('onRequest', (request, reply, done) => {
      reply.headers(headers);
      reply.header(CORRELATION_HEADER, request.id);
      done();
    });
  },
  { name: 'rampart-security-headers' },
);
