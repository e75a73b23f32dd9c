import type { Kysely } from 'kysely';
import { SECRET_KEYS, type Config } from '../../config/schema.js';
import { explainMissingTables, IdentityTablesMissing } from '../../features/auth/signing-keys.js';
import { passwordInUrl } from '../../platform/db/failure-reason.js';
import type { Tables } from '../../platform/db/tables.js';
import type { SecretStore } from '../../platform/secrets/secret-store.js';
import { ageOf, fieldKeyCreatedAt, type AgePolicy, type SecretAge } from './secret-ages.js';

// The ages `rampart secrets audit` prints and `secrets_rotation_overdue` exports: one
// computation, so the metric and the command never disagree.

export const agePolicyOf = (config: Config): AgePolicy => ({
  jwtDays: config.secretMaxAgeJwtDays,
  encryptionKeyDays: config.secretMaxAgeEncryptionKeyDays,
  apiKeyDays: config.secretMaxAgeApiKeyDays,
  databasePasswordDays: config.secretMaxAgeDatabasePasswordDays,
});

/** The chain's secrets (the schema's secret settings some provider holds), by name. */
export function chainSecretAges(secrets: SecretStore, policy: AgePolicy, now: Date): SecretAge[] {
  const rows: SecretAge[] = [];
  for (const key of [...SECRET_KEYS].sort()) {
    const secret = secrets.resolved(key);
    if (!secret) continue;
    if (key === 'FIELD_ENCRYPTION_KEYS') {
      const { kid, createdAt } = fieldKeyCreatedAt(secret.value);
      rows.push(ageOf({ name: key, source: secret.source, version: `${kid}${secret.version ? ` (${secret.version})` : ''}`, changedAt: createdAt ?? secret.changedAt }, policy, now));
    } else if (key === 'DATABASE_URL' && passwordInUrl(secret.value) === undefined) {
      rows.push(ageOf({ name: key, source: secret.source, version: secret.version, note: 'no password inside' }, policy, now));
    } else {
      rows.push(ageOf({ name: key, source: secret.source, version: secret.version, changedAt: secret.changedAt, previous: secrets.previous(key) }, policy, now));
    }
  }
  return rows;
}

/** The JWT signing key and the users' API keys live in the database, not in a provider. Throws when the database cannot be read. */
export async function databaseSecretAges(db: Kysely<Tables>, policy: AgePolicy, now: Date): Promise<SecretAge[]> {
  try {
    const key = await db.selectFrom('signing_keys').select(['kid', 'created_at']).where('retired_at', 'is', null).orderBy('created_at', 'desc').limit(1).executeTakeFirst();
    // Counted and dated by the database: a scrape never reads every key's row.
    const keys = await db
      .selectFrom('api_keys')
      .select((eb) => [eb.fn.countAll<string>().as('active'), eb.fn.min('created_at').as('oldest')])
      .where('revoked_at', 'is', null)
      .executeTakeFirstOrThrow();
    const active = Number(keys.active);
    return [
      ageOf({ name: 'jwt-signing-key', source: 'database', version: key?.kid, changedAt: key?.created_at, note: key ? undefined : 'none yet' }, policy, now),
      ageOf({ name: 'api-keys', source: 'database', version: `${active} active`, changedAt: keys.oldest ?? undefined, note: active === 0 ? 'none active' : undefined }, policy, now),
    ];
  } catch (error) {
    // Reachable but never migrated: there is no key to age, which is an answer, not a gap.
    if (explainMissingTables(error) instanceof IdentityTablesMissing) return unreadDatabaseSecrets('none (database not migrated)', policy, now);
    throw error;
  }
}

/** The database-held rows with a note instead of an age. */
export const unreadDatabaseSecrets = (note: string, policy: AgePolicy, now: Date): SecretAge[] => [
  ageOf({ name: 'jwt-signing-key', source: 'database', note }, policy, now),
  ageOf({ name: 'api-keys', source: 'database', note }, policy, now),
];
