import Type from 'typebox';

// Deliberately narrower than RFC 5321: letters, digits and `._%+-` before the `@`. Quotes,
// spaces, angle brackets and semicolons never reach the database or a page that shows it.
export const EMAIL_PATTERN = '^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$';

export const Email = Type.String({
  pattern: EMAIL_PATTERN,
  maxLength: 254,
  description: 'Email address (case-insensitive).',
  'x-error-message': 'must be an email address such as name@example.com: up to 64 letters, digits or ._%+- before the @, then a domain with at least one dot, 254 characters in all',
});
// Longer than the policy's cap, so an over-long password gets the policy's clear answer.
export const Password = Type.String({ minLength: 1, maxLength: 4096 });

export const Credentials = Type.Object({ email: Email, password: Password }, { additionalProperties: false });

export const TokenPairSchema = Type.Object({
  access_token: Type.String(),
  refresh_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'Access token lifetime, seconds.' }),
});

/** OpenAPI: the route needs `Authorization: Bearer <access token>`. */
export const bearerAuth = [{ bearerAuth: [] }];

/** OpenAPI: either credential will do, an access token or an API key with the route's scope. */
export const bearerOrApiKey: Array<Record<string, string[]>> = [{ bearerAuth: [] }, { apiKeyAuth: [] }];
