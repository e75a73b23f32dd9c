import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { HttpProblem } from '../../platform/http/problem.js';
import type { Principal } from './access-tokens.js';
import { principalOf } from './authenticate.js';
import { contextOf, type Identity } from './identity.js';
import { lockTotp, recordTotpStep, replaceBackupCodes } from './mfa-store.js';
import { generateBackupCodes, hashBackupCode } from './primitives/backup-codes.js';
import { verifyTotp } from './primitives/totp.js';
import { bearerAuth } from './schemas.js';
import { invalidMfaCode, openTotpSecret } from './second-factor.js';
import { writeAuditEvent, type RequestContext } from './store.js';

export const BACKUP_CODE_COUNT = 10;

// 6 digits, optionally grouped ("123 456"); the length cap keeps junk out of the verifier.
export const TotpCode = Type.String({ minLength: 6, maxLength: 16, description: 'The 6-digit code from the authenticator app.' });
// A backup code with or without its dashes.
export const CodeOrBackupCode = Type.String({ minLength: 6, maxLength: 64, description: 'The 6-digit code from the authenticator app, or an unused backup code.' });
export const BackupCodes = Type.Object({
  backup_codes: Type.Array(Type.String(), { description: 'Single-use recovery codes. Shown once: only their hashes are stored.' }),
});

type Outcome = { kind: 'activated' } | { kind: 'not-enrolled' } | { kind: 'already-active' } | { kind: 'wrong-code' };

/** Turns MFA on once a code from the app proves the pending secret was scanned; returns the backup codes, once. */
export async function activateTotp(identity: Identity, principal: Principal, code: string, context: RequestContext, now = Date.now()): Promise<string[]> {
  const codes = generateBackupCodes(BACKUP_CODE_COUNT);
  const outcome = await identity.db.transaction().execute(async (trx): Promise<Outcome> => {
    const totp = await lockTotp(trx, principal.userId);
    if (!totp) return { kind: 'not-enrolled' };
    if (totp.activated_at !== null) return { kind: 'already-active' };
    const verdict = verifyTotp({ secret: openTotpSecret(totp, identity.totpKey), code, now });
    if (!verdict.ok) return { kind: 'wrong-code' };
    await recordTotpStep(trx, principal.userId, verdict.step, true);
    await replaceBackupCodes(trx, principal.userId, codes.map(hashBackupCode));
    return { kind: 'activated' };
  });

  const audit = { tenantId: principal.tenantId, actorId: principal.userId };
  switch (outcome.kind) {
    case 'not-enrolled':
      throw new HttpProblem(409, 'mfa-not-enrolled', 'There is no pending TOTP enrolment: call POST /v1/auth/mfa/totp/enroll first.');
    case 'already-active':
      throw new HttpProblem(409, 'mfa-already-active', 'Two-factor authentication is already on.');
    case 'wrong-code':
      await writeAuditEvent(identity.db, context, { action: 'auth.mfa.activation_failed', ...audit, details: { reason: 'wrong-code' } });
      throw invalidMfaCode();
    case 'activated':
      await writeAuditEvent(identity.db, context, { action: 'auth.mfa.activated', ...audit, details: { backup_codes: codes.length } });
      return codes;
  }
}

/** Registered inside the authenticated scope. */
export async function mfaActivateRoute(app: FastifyInstance, identity: Identity): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().post('/v1/auth/mfa/totp/activate', {
    schema: {
      summary: 'Turn TOTP on with a code from the enrolled app; returns 10 backup codes, shown this once.',
      tags: ['auth'],
      security: bearerAuth,
      body: Type.Object({ code: TotpCode }, { additionalProperties: false }),
      response: { 200: BackupCodes },
    },
  }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    return { backup_codes: await activateTotp(identity, principalOf(request), request.body.code, contextOf(request)) };
  });
}
