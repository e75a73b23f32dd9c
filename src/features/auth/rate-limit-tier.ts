import type { FastifyRequest } from 'fastify';

// Runs before body validation, so the email is taken only when it is a string.
const emailOf = (request: FastifyRequest): string | undefined => {
  const email = (request.body as { email?: unknown } | undefined)?.email;
  return typeof email === 'string' ? email : undefined;
};

/** Route config of credential-taking routes: the auth rate-limit tier, per IP and, when the body names one, per account. */
export const authTier = { rateLimit: { tier: 'auth' as const, account: emailOf } };
