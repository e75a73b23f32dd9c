import type { FastifyRequest } from 'fastify';
import { HttpProblem } from '../../platform/http/problem.js';
import { checkPassword, type PasswordVerdict } from './password-policy.js';

/** The policy's refusal as a 422 naming the rule; every route that sets a password answers with it. */
export function weakPassword(verdict: PasswordVerdict): HttpProblem {
  return new HttpProblem(422, 'weak-password', `${verdict.message} (rule: ${verdict.rule})`, [{ field: 'body/password', message: `${verdict.rule}: ${verdict.message}` }]);
}

/**
 * Route option of the routes that set a password: schema errors are handed to the handler
 * instead of answered at once, so that `newPassword` can report them together with the
 * password policy's (a bad email and a short password: both named in one answer).
 */
export const reportWithPasswordPolicy = { attachValidation: true } as const;

/**
 * The normalised password, when the whole body is valid. Otherwise throws one answer naming
 * every invalid field: the schema's (422 `validation-failed`, with the policy's refusal
 * among its `errors`) or, when only the password breaks the policy, 422 `weak-password`.
 */
export function newPassword(request: FastifyRequest, password: unknown): string {
  const invalid = request.validationError as (Error & { validation?: Array<Record<string, unknown>> }) | undefined;
  const passwordMalformed = invalid?.validation?.some((v) => v.instancePath === '/password') ?? false;
  const verdict = typeof password === 'string' && !passwordMalformed ? checkPassword(password) : undefined;
  if (!invalid) {
    if (!verdict?.ok) throw weakPassword(verdict ?? { ok: false, normalised: '', rule: 'min-length', message: 'The password is missing.' });
    return verdict.normalised;
  }
  if (verdict && !verdict.ok) {
    // Shaped like an Ajv error, so the problem handler lists it like any other field.
    invalid.validation?.push({ keyword: 'passwordPolicy', instancePath: '/password', schemaPath: '#/properties/password', params: { rule: verdict.rule }, message: `${verdict.rule}: ${verdict.message}` });
  }
  throw invalid;
}
