import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import Type from 'typebox';
import { HttpProblem } from '../../platform/http/problem.js';
import { deriveSealingKey } from './secret-sealing.js';

// `__Host-`: the browser accepts them only from a secure origin, with Path=/ and no Domain,
// so a sibling subdomain can neither set nor overwrite them (no cookie tossing).
export const ACCESS_COOKIE = '__Host-rampart_access';
export const REFRESH_COOKIE = '__Host-rampart_refresh';
export const CSRF_COOKIE = '__Host-rampart_csrf';
/** The opt-in on login, MFA verify and refresh: `X-Rampart-Session: cookie`. */
export const SESSION_MODE_HEADER = 'x-rampart-session';
export const CSRF_HEADER = 'x-csrf-token';

export interface BrowserSessionSettings {
  /** Origins a cookie-authenticated write may come from: PUBLIC_BASE_URL's and CORS_ORIGINS'. */
  allowedOrigins: ReadonlySet<string>;
  csrfKey: Buffer;
}

export function browserSessionSettings(appSecret: string, publicBaseUrl: string, corsOrigins: readonly string[]): BrowserSessionSettings {
  const origins = new Set<string>();
  // A wildcard CORS origin grants no cookie writes: CSRF protection is exactly "not anyone".
  for (const url of [publicBaseUrl, ...corsOrigins.filter((origin) => origin !== '*')]) {
    try {
      origins.add(new URL(url).origin);
    } catch {
      // config validation owns the message; an unparsable entry just allows nothing
    }
  }
  return { allowedOrigins: origins, csrfKey: deriveSealingKey(appSecret, 'csrf-token/hmac-sha256/v1') };
}

/** Bound to the session: stateless to check, useless for any other session, dead when the session is. */
export const csrfTokenFor = (settings: BrowserSessionSettings, sessionId: string) => createHmac('sha256', settings.csrfKey).update(sessionId).digest('base64url');

export const CookieSessionSchema = Type.Object({
  token_type: Type.Literal('cookie'),
  expires_in: Type.Integer({ description: 'Access cookie lifetime, seconds; refresh before it ends.' }),
  csrf_token: Type.String({ description: 'Send it as `X-CSRF-Token` with every cookie-authenticated POST, PUT, PATCH and DELETE (also in the `__Host-rampart_csrf` cookie).' }),
});

export interface CookieSession {
  token_type: 'cookie';
  expires_in: number;
  csrf_token: string;
}

export const wantsCookieSession = (request: FastifyRequest) => request.headers[SESSION_MODE_HEADER] === 'cookie';

const baseAttributes = { path: '/', secure: true, sameSite: 'strict' } as const;

/** The token pair goes into cookies the page's script cannot read; the body carries only the CSRF token. */
export function sendCookieSession(reply: FastifyReply, settings: BrowserSessionSettings, pair: { access_token: string; refresh_token: string; expires_in: number }, refreshTtlS: number): CookieSession {
  const sessionId = decodeJwt(pair.access_token).sid;
  if (typeof sessionId !== 'string') throw new Error('access token without a session id');
  const csrfToken = csrfTokenFor(settings, sessionId);
  reply.setCookie(ACCESS_COOKIE, pair.access_token, { ...baseAttributes, httpOnly: true, maxAge: pair.expires_in });
  reply.setCookie(REFRESH_COOKIE, pair.refresh_token, { ...baseAttributes, httpOnly: true, maxAge: refreshTtlS });
  // Readable on purpose: the console's script copies it into X-CSRF-Token after a reload.
  reply.setCookie(CSRF_COOKIE, csrfToken, { ...baseAttributes, httpOnly: false, maxAge: refreshTtlS });
  return { token_type: 'cookie', expires_in: pair.expires_in, csrf_token: csrfToken };
}

export function clearCookieSession(reply: FastifyReply): void {
  for (const name of [ACCESS_COOKIE, REFRESH_COOKIE, CSRF_COOKIE]) reply.clearCookie(name, { ...baseAttributes, httpOnly: name !== CSRF_COOKIE });
}

/** The access cookie, when the request carries no other credential. */
export function accessTokenFromCookie(request: FastifyRequest): string | undefined {
  if (request.headers.authorization !== undefined || request.headers['x-api-key'] !== undefined) return undefined;
  return request.cookies?.[ACCESS_COOKIE] || undefined;
}

export const hasSessionCookies = (request: FastifyRequest) => [ACCESS_COOKIE, REFRESH_COOKIE, CSRF_COOKIE].some((name) => request.cookies?.[name] !== undefined);

export const refreshTokenFromCookie = (request: FastifyRequest): string | undefined => request.cookies?.[REFRESH_COOKIE] || undefined;

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const csrfFailed = (detail: string) => new HttpProblem(403, 'csrf-failed', detail);

/**
 * Cookies are ambient: the browser attaches them to requests other sites trigger. A
 * cookie-authenticated write therefore needs both an allowed `Origin` and the session's CSRF
 * token, which another site can neither forge nor read.
 */
export function assertCsrf(request: FastifyRequest, settings: BrowserSessionSettings, sessionId: string): void {
  if (SAFE_METHODS.has(request.method)) return;
  const origin = request.headers.origin;
  if (origin === undefined || !settings.allowedOrigins.has(origin)) {
    throw csrfFailed('A request authenticated by cookie must come from an allowed Origin (PUBLIC_BASE_URL or CORS_ORIGINS).');
  }
  const presented = request.headers[CSRF_HEADER];
  const given = Buffer.from(typeof presented === 'string' ? presented : '');
  const expected = Buffer.from(csrfTokenFor(settings, sessionId));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw csrfFailed('A request authenticated by cookie needs the session\'s CSRF token in X-CSRF-Token.');
  }
}
