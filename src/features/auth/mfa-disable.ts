import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { Principal } from './access-tokens.js';
import { principalOf } from './authenticate.js';
import { contextOf, type Identity } from './identity.js';
import { CodeOrBackupCode } from './mfa-activate.js';
import { deleteTotp } from './mfa-store.js';
import { bearerAuth } from './schemas.js';
import { checkSecondFactor, invalidMfaCode, mfaNotActive, type SecondFactor } from './second-factor.js';
import { writeAuditEvent, type RequestContext } from './store.js';

/**
 * Turns MFA off. A stolen access token alone cannot do it: the caller must also present a
 * current TOTP code or an unused backup code.
 */
export async function disableTotp(identity: Identity, principal: Principal, code: string, context: RequestContext): Promise<void> {
  const verdict = await identity.db.transaction().execute(async (trx): Promise<SecondFactor> => {
    const check = await checkSecondFactor(trx, identity.totpKey, principal.userId, { code });
    if (check.ok) await deleteTotp(trx, principal.userId);
    return check;
  });
  const audit = { tenantId: principal.tenantId, actorId: principal.userId };
  if (!verdict.ok && verdict.reason === 'mfa-not-active') throw mfaNotActive();
  if (!verdict.ok) {
    await writeAuditEvent(identity.db, context, { action: 'auth.mfa.disable_failed', ...audit, details: { reason: verdict.reason } });
    throw invalidMfaCode();
  }
  await writeAuditEvent(identity.db, context, { action: 'auth.mfa.disabled', ...audit, details: { method: verdict.method } });
}

/** Registered inside the authenticated scope. */
export async function mfaDisableRoute(app: FastifyInstance, identity: Identity): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().delete('/v1/auth/mfa/totp', {
    schema: {
      summary: 'Turn TOTP off (its backup codes are deleted); needs a current code or an unused backup code.',
      tags: ['auth'],
      security: bearerAuth,
      body: Type.Object({ code: CodeOrBackupCode }, { additionalProperties: false }),
      response: { 204: { type: 'null', description: 'Two-factor authentication is off.' } },
    },
  }, async (request, reply) => {
    await disableTotp(identity, principalOf(request), request.body.code, contextOf(request));
    return reply.code(204).send(null);
  });
}
