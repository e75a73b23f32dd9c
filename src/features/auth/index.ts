import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fp from 'fastify-plugin';
import type { Kysely } from 'kysely';
import type { Tables } from '../../platform/db/tables.js';
import type { JobQueue } from '../../platform/queue/job-types.js';
import { adminUsersCreateRoute } from './admin-users-create.js';
import { adminUsersListRoute } from './admin-users-list.js';
import { adminUsersUpdateRoute } from './admin-users-update.js';
import { apiKeyAuthenticatorFor, apiKeysRoutes } from './api-keys.js';
import { authenticate } from './authenticate.js';
import { retryAfterHeader } from './brute-force.js';
import { bearerAuthOptions, type Identity } from './identity.js';
import { jwksRoute } from './jwks.js';
import { loginRoute } from './login.js';
import { logoutRoute } from './logout.js';
import { meRoute } from './me.js';
import { backupCodesRegenerateRoute } from './backup-codes-regenerate.js';
import { mfaActivateRoute } from './mfa-activate.js';
import { mfaDisableRoute } from './mfa-disable.js';
import { mfaEnrollRoute } from './mfa-enroll.js';
import { mfaVerifyRoute } from './mfa-verify.js';
import { passwordForgotRoute } from './password-forgot.js';
import { passwordResetRoute } from './password-reset.js';
import { refreshRoute } from './refresh.js';
import { requireLocalAccount } from './require-permission.js';
import { sessionsRoutes } from './sessions.js';
import { signupRoute } from './signup.js';
import { signupVerifyRoute } from './signup-verification.js';

export { createIdentity, type Identity } from './identity.js';
export { authJobs } from './jobs.js';
export { callerOf, requireScope, type ApiKeyPrincipal, type Caller } from './api-key-auth.js';
export { requirePermission, type AccessControl } from './require-permission.js';
export { accessControl } from './access-control.js';
export { bearerOrApiKey, Email } from './schemas.js';
export { BASE_PERMISSIONS, type Permission } from './permissions.js';

/** The auth routes as one route plugin: public ones, and a scope where every route needs an access token. */
export function authRoutes(identity: Identity): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    await app.register(fastifyCookie);
    app.addHook('onError', retryAfterHeader);
    await signupRoute(app, identity);
    if (identity.signupVerification === 'required') await signupVerifyRoute(app, identity);
    await loginRoute(app, identity);
    await refreshRoute(app, identity);
    await mfaVerifyRoute(app, identity);
    await passwordForgotRoute(app, identity);
    await passwordResetRoute(app, identity);
    await jwksRoute(app, identity.keyring);
    app.addHook('onClose', async () => identity.keyring.stop());
    await app.register(apiKeysRoutes(identity));
    await app.register(async (authenticated) => {
      await authenticated.register(authenticate, bearerAuthOptions(identity));
      await meRoute(authenticated, identity);
      await authenticated.register(async (ownAccount) => {
        // These act on a Rampart session or user row, which a provider's token does not have.
        ownAccount.addHook('preHandler', requireLocalAccount);
        await logoutRoute(ownAccount, identity);
        await sessionsRoutes(ownAccount, identity);
        await mfaEnrollRoute(ownAccount, identity);
        await mfaActivateRoute(ownAccount, identity);
        await mfaDisableRoute(ownAccount, identity);
        await backupCodesRegenerateRoute(ownAccount, identity);
      });
      await adminUsersListRoute(authenticated, identity);
      await adminUsersCreateRoute(authenticated, identity);
      await adminUsersUpdateRoute(authenticated, identity);
    });
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    /** For route plugins (`rampart serve --plugin`): register `rampart.authenticate` in a scope and its routes need a token or an API key. */
    rampart: {
      authenticate: FastifyPluginAsync;
      /** Enqueue jobs, inside a transaction of `db` when the job belongs to a data change. */
      jobs: JobQueue;
      db: Kysely<Tables>;
    };
  }
}

/** Decorates the app with `rampart.authenticate`, so plugins outside this feature can require a caller. */
export function exposeAuthentication(identity: Identity, platform: { jobs: JobQueue; db: Kysely<Tables> }): FastifyPluginAsync {
  return fp(async (app: FastifyInstance) => {
    const apiKeys = apiKeyAuthenticatorFor(app, identity);
    const options = { ...bearerAuthOptions(identity), apiKeys };
    app.decorate('rampart', { authenticate: fp(async (scope: FastifyInstance) => scope.register(authenticate, options)), ...platform });
  });
}
