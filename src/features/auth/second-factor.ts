import { HttpProblem } from '../../platform/http/problem.js';
import { matchBackupCode } from './primitives/backup-codes.js';
import { verifyTotp } from './primitives/totp.js';
import { listBackupCodes, lockTotp, recordTotpStep, spendBackupCode, type TotpRow } from './mfa-store.js';
import { openSealedSecret, sealSecret } from './secret-sealing.js';
import type { Db } from './store.js';

export const invalidMfaCode = () => new HttpProblem(401, 'invalid-mfa-code', 'The code is wrong, expired or was already used; enter the current code from your authenticator app or an unused backup code.');
export const mfaNotActive = () => new HttpProblem(409, 'mfa-not-active', 'Two-factor authentication is not on for this account.');

/** The TOTP secret (base32) sealed to its user: a ciphertext copied to another user's row does not open. */
export function sealTotpSecret(secret: string, userId: string, key: Buffer): string {
  return sealSecret(Buffer.from(secret, 'utf8'), userId, key);
}

export function openTotpSecret(row: Pick<TotpRow, 'secret_encrypted' | 'user_id'>, key: Buffer): string {
  return openSealedSecret(row.secret_encrypted, row.user_id, key).toString('utf8');
}

export type SecondFactor = { ok: true; method: 'totp' | 'backup_code' } | { ok: false; reason: 'mfa-not-active' | 'wrong-code' };

/**
 * Checks a second factor for a user whose TOTP is active, inside the caller's transaction:
 * `code` is tried as a TOTP code and then as a backup code, `backupCode` only as a backup
 * code. A TOTP step is recorded and a backup code deleted before the transaction commits,
 * and the authenticator row stays locked until then, so each code works once however many
 * requests race with it.
 */
export async function checkSecondFactor(trx: Db, totpKey: Buffer, userId: string, presented: { code?: string; backupCode?: string }, now = Date.now()): Promise<SecondFactor> {
  const totp = await lockTotp(trx, userId);
  if (!totp || totp.activated_at === null) return { ok: false, reason: 'mfa-not-active' };

  if (presented.code !== undefined) {
    const verdict = verifyTotp({ secret: openTotpSecret(totp, totpKey), code: presented.code, now, lastAcceptedStep: totp.last_accepted_step });
    if (verdict.ok) {
      await recordTotpStep(trx, userId, verdict.step);
      return { ok: true, method: 'totp' };
    }
  }
  const backupCode = presented.backupCode ?? presented.code;
  if (backupCode !== undefined) {
    const codes = await listBackupCodes(trx, userId);
    const index = matchBackupCode(backupCode, codes.map((c) => c.code_hash));
    if (index >= 0 && (await spendBackupCode(trx, codes[index]!.id))) return { ok: true, method: 'backup_code' };
  }
  return { ok: false, reason: 'wrong-code' };
}
