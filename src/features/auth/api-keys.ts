import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { createApiKeyAuthenticator, type ApiKeyAuthenticator } from './api-key-auth.js';
import { createApiKeyRoute } from './api-keys-create.js';
import { listApiKeysRoute } from './api-keys-list.js';
import { revokeApiKeyRoute } from './api-keys-revoke.js';
import { rotateApiKeyRoute } from './api-keys-rotate.js';
import { markApiKeysUsed } from './api-keys-store.js';
import { whoamiRoute } from './api-keys-whoami.js';
import { authenticate } from './authenticate.js';
import { bearerAuthOptions, type Identity } from './identity.js';
import { createLastUsedBatcher } from './last-used-batcher.js';

// last_used_at is accurate to this; a shorter interval only buys more writes.
const LAST_USED_FLUSH_MS = 3_000;

/**
 * The API key authenticator of one app, with its batched `last_used_at` writer. The batch
 * still pending is written when the app closes (before the database pool is closed).
 */
export function apiKeyAuthenticatorFor(app: FastifyInstance, identity: Identity): ApiKeyAuthenticator {
  const lastUsed = createLastUsedBatcher({
    intervalMs: LAST_USED_FLUSH_MS,
    write: (ids, at) => markApiKeysUsed(identity.db, ids, at),
    onError: (err) => identity.logger.warn({ err }, 'could not record API key use'),
  });
  app.addHook('onClose', () => lastUsed.close());
  return createApiKeyAuthenticator(identity.db, identity.apiKeys, lastUsed, identity.cache);
}

/**
 * The API key routes. Listing accepts a key with `api-keys:read`; creating, rotating and
 * revoking refuse keys (a leaked key cannot mint keys); `whoami` accepts either credential.
 */
export function apiKeysRoutes(identity: Identity): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    const apiKeys = apiKeyAuthenticatorFor(app, identity);
    const bearer = bearerAuthOptions(identity);
    await app.register(async (management) => {
      await management.register(authenticate, { ...bearer, apiKeys });
      await createApiKeyRoute(management, identity);
      await listApiKeysRoute(management, identity);
      await rotateApiKeyRoute(management, identity, apiKeys);
      await revokeApiKeyRoute(management, identity, apiKeys);
    });
    await app.register(async (either) => {
      await either.register(authenticate, { ...bearer, apiKeys });
      await whoamiRoute(either);
    });
  };
}
