import { sql } from 'kysely';
import { fieldKeyId } from '../../platform/crypto/field-encryption.js';
import type { FieldKeyring } from '../../platform/crypto/field-keyring.js';
import type { ScheduledJob } from '../../platform/leader/scheduler.js';
import { createEmailProtection, type EmailProtection } from './email-protection.js';
import type { Db } from './store.js';

const BATCH = 200;
// One run does at most this many batches; the next tick carries on.
const MAX_BATCHES_PER_RUN = 50;
const EVERY_MS = 60_000;

/**
 * The leader moves every address onto the current field-encryption key, in batches: rows
 * still in plaintext (written before migration 0008) and rows under an older key. Once a
 * run finds nothing, the older keys can be dropped from FIELD_ENCRYPTION_KEYS.
 */
export function emailReencryptionJob(db: Db, keyring: FieldKeyring, appSecret: string, everyMs = EVERY_MS): ScheduledJob {
  const emails = createEmailProtection(keyring, appSecret);
  return { name: 'secrets.reencrypt-emails', everyMs, run: async () => void (await reencryptEmails(db, emails)) };
}

/** Re-encrypts up to `maxBatches` batches; resolves with how many rows moved. */
export async function reencryptEmails(db: Db, emails: EmailProtection, maxBatches = MAX_BATCHES_PER_RUN): Promise<number> {
  let moved = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    const kid = emails.keyring.currentKid();
    const rows = await db
      .selectFrom('users')
      .select(['id', 'email', 'email_encrypted'])
      .where((eb) => eb.or([eb('email', 'is not', null), eb(sql<string>`split_part(email_encrypted, '.', 2)`, '<>', kid)]))
      .orderBy('id')
      .limit(BATCH)
      .execute();
    if (rows.length === 0) break;
    let movedThisBatch = 0;
    const known = new Set(emails.keyring.kids());
    for (const row of rows) {
      // A kid this instance does not know yet was written by one that refreshed first: not ours to move.
      if (row.email_encrypted !== null && !known.has(fieldKeyId(row.email_encrypted) ?? '')) continue;
      const address = emails.open(row);
      // Only if nobody changed the row since it was read; a lost race is picked up next batch.
      const result = await db
        .updateTable('users')
        .set({ email: null, email_hash: emails.lookupHash(address), email_encrypted: emails.seal(address, row.id) })
        .where('id', '=', row.id)
        .where(sql<boolean>`email is not distinct from ${row.email}`)
        .where(sql<boolean>`email_encrypted is not distinct from ${row.email_encrypted}`)
        .executeTakeFirst();
      movedThisBatch += Number(result.numUpdatedRows);
    }
    moved += movedThisBatch;
    if (rows.length < BATCH || movedThisBatch === 0) break;
  }
  return moved;
}
