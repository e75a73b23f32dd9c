import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { adminUsersCreateRoute } from './admin-users-create.js';
import { adminUsersListRoute } from './admin-users-list.js';
import { adminUsersUpdateRoute } from './admin-users-update.js';
import { apiKeysRoutes } from './api-keys.js';
import { authenticate } from './authenticate.js';
import type { Identity } from './identity.js';
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
import { sessionsRoutes } from './sessions.js';
import { signupRoute } from './signup.js';

export { createIdentity, type Identity } from './identity.js';
export { callerOf, requireScope, type ApiKeyPrincipal, type Caller } from './api-key-auth.js';

/** The auth routes as one route plugin: public ones, and a scope where every route needs an access token. */
export function authRoutes(identity: Identity): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    await signupRoute(app, identity);
    await loginRoute(app, identity);
    await refreshRoute(app, identity);
    await mfaVerifyRoute(app, identity);
    await passwordForgotRoute(app, identity);
    await passwordResetRoute(app, identity);
    await jwksRoute(app, identity.keyring);
    await app.register(apiKeysRoutes(identity));
    await app.register(async (authenticated) => {
      await authenticated.register(authenticate, { keyring: identity.keyring, tokens: identity.tokens, revocations: identity.revocations });
      await logoutRoute(authenticated, identity);
      await sessionsRoutes(authenticated, identity);
      await meRoute(authenticated, identity);
      await mfaEnrollRoute(authenticated, identity);
      await mfaActivateRoute(authenticated, identity);
      await mfaDisableRoute(authenticated, identity);
      await backupCodesRegenerateRoute(authenticated, identity);
      await adminUsersListRoute(authenticated, identity);
      await adminUsersCreateRoute(authenticated, identity);
      await adminUsersUpdateRoute(authenticated, identity);
    });
  };
}
