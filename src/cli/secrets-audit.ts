import { ageOf, fieldKeyCreatedAt, formatAudit, type AgePolicy, type SecretAge } from '../ops/secrets/secret-ages.js';
import { passwordInUrl } from '../platform/db/failure-reason.js';
import { failureReason } from '../platform/secrets/secret-store.js';
import { explainMissingTables, IdentityTablesMissing } from '../features/auth/signing-keys.js';
import { DataDirInUse } from '../platform/db/data-dir-lock.js';
import { CliExit, databaseInUseExit, EXIT, openDatabaseFor, resolveRuntime, SECRET_KEYS, type Runtime } from './bootstrap.js';

/**
 * `rampart secrets audit [--json]`: every secret's provider, version, last change and age
 * against policy; exit 1 when any is overdue. What could not be read is named, and the
 * audit then exits 4 (5 when a running Rampart holds the embedded database) rather than
 * vouching for it. Values are never read into the output.
 */
export async function secretsAuditCommand(options: { json?: boolean }, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const now = new Date();
  const { rows, unchecked, failure } = await auditSecretAges(await resolveRuntime(), now);
  const overdue = rows.filter((r) => r.overdue === true);
  if (options.json) {
    out.write(`${JSON.stringify({ checked_at: now.toISOString(), complete: unchecked.length === 0, overdue: overdue.map((r) => r.name), unchecked, secrets: rows }, null, 2)}\n`);
  } else {
    const verdict = overdue.length > 0
      ? `overdue for rotation: ${overdue.map((r) => r.name).join(', ')}`
      : unchecked.length === 0 ? 'no secret is overdue for rotation' : 'none of the secrets checked is overdue for rotation';
    out.write(`${formatAudit(rows)}\n${verdict}\n`);
  }
  if (failure instanceof DataDirInUse) throw databaseInUseExit(failure);
  if (failure) {
    throw new CliExit(EXIT.incomplete, [`rampart: the audit is incomplete: ${unchecked.join(' and ')} could not be checked (database unavailable: ${failureReason(failure)})`]);
  }
  if (overdue.length > 0) throw new CliExit(EXIT.failure, []);
}

export interface SecretAudit {
  rows: SecretAge[];
  /** Names that could not be checked (the database-held ones, when the database failed). */
  unchecked: string[];
  failure?: unknown;
}

/** Every secret's age against the policy: the chain's secrets, then those the database holds. */
export async function auditSecretAges({ config, secrets }: Runtime, now: Date): Promise<SecretAudit> {
  const policy: AgePolicy = {
    jwtDays: config.secretMaxAgeJwtDays,
    encryptionKeyDays: config.secretMaxAgeEncryptionKeyDays,
    apiKeyDays: config.secretMaxAgeApiKeyDays,
    databasePasswordDays: config.secretMaxAgeDatabasePasswordDays,
  };
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
  const held = await databaseHeldSecrets(config, secrets, policy, now);
  rows.push(...held.rows);
  return { rows, unchecked: held.failure ? held.rows.map((r) => r.name) : [], ...(held.failure ? { failure: held.failure } : {}) };
}

/** The JWT signing key and the users' API keys live in the database, not in a provider. */
async function databaseHeldSecrets(config: Runtime['config'], secrets: Runtime['secrets'], policy: AgePolicy, now: Date): Promise<{ rows: SecretAge[]; failure?: unknown }> {
  let database;
  try {
    // Not openCommandDatabase: the rest of the report is still worth printing.
    database = await openDatabaseFor(config, secrets);
    const key = await database.db.selectFrom('signing_keys').select(['kid', 'created_at']).where('retired_at', 'is', null).orderBy('created_at', 'desc').limit(1).executeTakeFirst();
    const keys = await database.db.selectFrom('api_keys').select(['created_at']).where('revoked_at', 'is', null).execute();
    const oldest = keys.reduce<Date | undefined>((min, k) => (!min || k.created_at < min ? k.created_at : min), undefined);
    return {
      rows: [
        ageOf({ name: 'jwt-signing-key', source: 'database', version: key?.kid, changedAt: key?.created_at, note: key ? undefined : 'none yet' }, policy, now),
        ageOf({ name: 'api-keys', source: 'database', version: `${keys.length} active`, changedAt: oldest, note: keys.length === 0 ? 'none active' : undefined }, policy, now),
      ],
    };
  } catch (error) {
    // Reachable but never migrated: there is no key to age, which is an answer, not a gap.
    if (explainMissingTables(error) instanceof IdentityTablesMissing) {
      const note = 'none (database not migrated)';
      return { rows: [ageOf({ name: 'jwt-signing-key', source: 'database', note }, policy, now), ageOf({ name: 'api-keys', source: 'database', note }, policy, now)] };
    }
    const note = error instanceof DataDirInUse ? `not checked: embedded database in use by pid ${error.pid}` : `not checked: database unavailable (${failureReason(error)})`;
    return { rows: [ageOf({ name: 'jwt-signing-key', source: 'database', note }, policy, now), ageOf({ name: 'api-keys', source: 'database', note }, policy, now)], failure: error };
  } finally {
    await database?.close();
  }
}
