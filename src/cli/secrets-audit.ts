import { formatAudit, type SecretAge } from '../ops/secrets/secret-ages.js';
import { agePolicyOf, chainSecretAges, databaseSecretAges, unreadDatabaseSecrets } from '../ops/secrets/secret-audit.js';
import { failureReason } from '../platform/secrets/secret-store.js';
import { DataDirInUse } from '../platform/db/data-dir-lock.js';
import { CliExit, databaseInUseExit, EXIT, openDatabaseFor, resolveRuntime, type Runtime } from './bootstrap.js';

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
  const policy = agePolicyOf(config);
  const rows = chainSecretAges(secrets, policy, now);
  let database;
  try {
    // Not openCommandDatabase: the rest of the report is still worth printing.
    database = await openDatabaseFor(config, secrets);
    rows.push(...(await databaseSecretAges(database.db, policy, now)));
    return { rows, unchecked: [] };
  } catch (failure) {
    const note = failure instanceof DataDirInUse ? `not checked: embedded database in use by pid ${failure.pid}` : `not checked: database unavailable (${failureReason(failure)})`;
    const unread = unreadDatabaseSecrets(note, policy, now);
    return { rows: [...rows, ...unread], unchecked: unread.map((r) => r.name), failure };
  } finally {
    await database?.close();
  }
}
