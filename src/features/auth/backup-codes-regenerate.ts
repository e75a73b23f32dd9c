import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { Principal } from './access-tokens.js';
import { principalOf } from './authenticate.js';
import { contextOf, type Identity } from './identity.js';
import { BACKUP_CODE_COUNT, BackupCodes, CodeOrBackupCode } from './mfa-activate.js';
import { replaceBackupCodes } from './mfa-store.js';
import { generateBackupCodes, hashBackupCode } from './primitives/backup-codes.js';
import { bearerAuth } from './schemas.js';
import { checkSecondFactor, invalidMfaCode, mfaNotActive, type SecondFactor } from './second-factor.js';
import { writeAuditEvent, type RequestContext } from './store.js';

/** A fresh set of backup codes; every earlier one stops working. Needs a current code or an unused backup code. */
export async function regenerateBackupCodes(identity: Identity, principal: Principal, code: string, context: RequestContext): Promise<string[]> {
  const codes = generateBackupCodes(BACKUP_CODE_COUNT);
  const verdict = await identity.db.transaction().execute(async (trx): Promise<SecondFactor> => {
    const check = await checkSecondFactor(trx, identity.totpKey, principal.userId, { code });
    if (check.ok) await replaceBackupCodes(trx, principal.userId, codes.map(hashBackupCode));
    return check;
  });
  const audit = { tenantId: principal.tenantId, actorId: principal.userId };
  if (!verdict.ok && verdict.reason === 'mfa-not-active') throw mfaNotActive();
  if (!verdict.ok) {
    await writeAuditEvent(identity.db, context, { action: 'auth.mfa.backup_codes_regeneration_failed', ...audit, details: { reason: verdict.reason } });
    throw invalidMfaCode();
  }
  await writeAuditEvent(identity.db, context, { action: 'auth.mfa.backup_codes_regenerated', ...audit, details: { method: verdict.method } });
  return codes;
}

/** Registered inside the authenticated scope. */
export async function backupCodesRegenerateRoute(app: FastifyInstance, identity: Identity): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().post('/v1/auth/mfa/backup-codes/regenerate', {
    schema: {
      summary: 'Replace your backup codes with 10 new ones (shown once); the old ones stop working.',
      tags: ['auth'],
      security: bearerAuth,
      body: Type.Object({ code: CodeOrBackupCode }, { additionalProperties: false }),
      response: { 200: BackupCodes },
    },
  }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    return { backup_codes: await regenerateBackupCodes(identity, principalOf(request), request.body.code, contextOf(request)) };
  });
}
