import Type from 'typebox';
import { HttpProblem } from '../../platform/http/problem.js';
import type { ApiKeySummary } from './api-keys-store.js';
import type { PermissionTable } from './permissions.js';

// Scopes are `resource:action` words (`contact:write`); names are labels for people. Both
// are narrow on purpose: quotes, angle brackets and semicolons never reach a page or a log.
export const SCOPE_PATTERN = '^[a-z][a-z0-9_-]{0,63}(:[a-z*][a-z0-9_*-]{0,63})?$';
export const Scope = Type.String({ pattern: SCOPE_PATTERN, maxLength: 129, description: 'A permission such as `contact:write`.' });
export const Scopes = Type.Array(Scope, { minItems: 1, maxItems: 32, uniqueItems: true });
export const ApiKeyName = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9 ._:/#()-]{0,99}$', description: 'A label for people: letters, digits, spaces and `._:/#()-`, up to 100 characters.' });
export const ApiKeyId = Type.Object({ id: Type.String({ format: 'uuid' }) });

/** The answer to create and rotate: the only time the key is shown. */
export const IssuedApiKey = Type.Object({
  id: Type.String({ format: 'uuid' }),
  key: Type.String({ description: 'The API key. Shown once; store it now.' }),
  prefix: Type.String({ description: 'The key\'s first 12 characters, as listings show them.' }),
});

export const ApiKeyListing = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  prefix: Type.String(),
  scopes: Type.Array(Type.String()),
  created_at: Type.String({ format: 'date-time' }),
  expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'Updated in batches: accurate to a few seconds.' }),
  revoked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const iso = (date: Date | null) => (date ? date.toISOString() : null);

export function listingOf(key: ApiKeySummary) {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    scopes: key.scopes,
    created_at: key.created_at.toISOString(),
    expires_at: iso(key.expires_at),
    last_used_at: iso(key.last_used_at),
    revoked_at: iso(key.revoked_at),
  };
}

export function apiKeyNotFound(): HttpProblem {
  return new HttpProblem(404, 'api-key-not-found', 'Your tenant has no live API key with this id.');
}

/** A misspelt scope would mint a key that can do nothing: 422 naming each unknown scope and listing the valid ones. */
export function assertKnownScopes(permissions: PermissionTable, scopes: readonly string[]): void {
  const valid = permissions.apiKeyScopes();
  const unknown = scopes.flatMap((scope, index) => (valid.includes(scope) ? [] : [{ scope, index }]));
  if (unknown.length === 0) return;
  const list = valid.join(', ');
  throw new HttpProblem(
    422,
    'unknown-scope',
    `Unknown scope${unknown.length > 1 ? 's' : ''} ${unknown.map(({ scope }) => `"${scope}"`).join(', ')}. Valid scopes: ${list}.`,
    unknown.map(({ scope, index }) => ({ field: `body/scopes/${index}`, message: `"${scope}" is not a scope; valid scopes: ${list}` })),
  );
}
