import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const CORRELATION_HEADER = 'x-correlation-id';
const VALID_CORRELATION_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Fastify's `genReqId` (the id is echoed by the security-headers hook): a caller's valid `X-Correlation-ID` is kept so one id follows a
 * request across services; anything else (too long, odd characters, repeated header)
 * is replaced, never echoed, so it cannot inject into logs or headers.
 */
export function correlationIdFor(req: IncomingMessage): string {
  const incoming = req.headers[CORRELATION_HEADER];
  return typeof incoming === 'string' && VALID_CORRELATION_ID.test(incoming) ? incoming : randomUUID();
}
