import { randomBytes } from 'node:crypto';
import { newFieldKeyEntry } from '../config/dev-secrets.js';
import { currentSigningKid, deriveKeyEncryptionKey, explainMissingTables, IdentityTablesMissing, rotateSigningKey } from '../features/auth/signing-keys.js';
import { failureReason, type SecretStore } from '../platform/secrets/secret-store.js';
import { CliExit, EXIT, openCommandDatabase, resolveRuntime, type Runtime } from './bootstrap.js';

export const ROTATABLE_SECRETS = ['jwt-signing-key', 'field-encryption-key', 'api-key-pepper'] as const;

// Current + previous peppers kept: a key unused through two rotations must be re-issued.
const PEPPERS_KEPT = 3;

/**
 * `rampart secrets rotate <name>`. Prints what changed (names, key ids, versions), never a
 * value. Running instances take the new value at their next refresh (SECRETS_REFRESH_S,
 * AUTH_KEYRING_REFRESH_S for the signing key) or at once on SIGHUP.
 */
export async function secretsRotateCommand(name: string, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  if (!(ROTATABLE_SECRETS as readonly string[]).includes(name)) {
    throw new CliExit(EXIT.badConfig, [`rampart: unknown secret "${name}" (supported: ${ROTATABLE_SECRETS.join(', ')})`]);
  }
  const runtime = await resolveRuntime();
  if (name === 'jwt-signing-key') return rotateJwtSigningKey(runtime, out);
  if (name === 'field-encryption-key') {
    const current = runtime.secrets.get('FIELD_ENCRYPTION_KEYS');
    const entry = newFieldKeyEntry();
    const kid = entry.split(':')[0]!;
    const older = current ? current.split(',').map((e) => e.trim()).filter(Boolean) : [];
    const { provider, version } = await writeSecret(runtime.secrets, 'FIELD_ENCRYPTION_KEYS', [entry, ...older].join(','));
    const olderKids = older.map((e) => e.split(':')[0]);
    out.write(`rotated field-encryption-key: FIELD_ENCRYPTION_KEYS in ${provider}${version ? ` (version ${version})` : ''}, new kid ${kid}` +
      `${olderKids.length > 0 ? `; ${olderKids.join(', ')} still decrypt until the re-encryption job has moved every row` : ''}\n`);
    return;
  }
  const current = runtime.secrets.get('API_KEY_PEPPER');
  const older = current ? current.split(',').map((p) => p.trim()).filter(Boolean) : [];
  const kept = [randomBytes(32).toString('base64url'), ...older].slice(0, PEPPERS_KEPT);
  const { provider, version } = await writeSecret(runtime.secrets, 'API_KEY_PEPPER', kept.join(','));
  out.write(`rotated api-key-pepper: API_KEY_PEPPER in ${provider}${version ? ` (version ${version})` : ''}, now ${kept.length} pepper(s); ` +
    `existing API keys keep working and are re-hashed under the new pepper on their next use\n`);
}

/** Writes where the secret comes from now; a secret nobody holds yet goes to the first writable provider. */
async function writeSecret(secrets: SecretStore, key: string, value: string): Promise<{ provider: string; version: string | undefined }> {
  const source = secrets.resolved(key)?.source;
  const provider = source ? secrets.providers().find((p) => p.name === source) : secrets.providers().find((p) => p.write);
  if (!provider) throw new CliExit(EXIT.badConfig, [`rampart: no provider in SECRETS_PROVIDERS can store ${key} (env cannot be written)`]);
  if (!provider.write) {
    throw new CliExit(EXIT.badConfig, [`rampart: ${key} comes from ${provider.name}, which rotate cannot write; set it there, or move it to file, ssm or secretsmanager`]);
  }
  try {
    const { version } = await provider.write(key, value);
    return { provider: provider.name, version };
  } catch (error) {
    throw new CliExit(EXIT.failure, [`rampart: could not write ${key} to ${provider.name} (${failureReason(error)}); nothing changed`]);
  }
}

async function rotateJwtSigningKey({ config, secrets }: Runtime, out: NodeJS.WritableStream): Promise<void> {
  if (!config.appSecret) throw new CliExit(EXIT.badConfig, ['rampart: APP_SECRET is required (it encrypts the signing keys)']);
  const database = await openCommandDatabase(config, secrets);
  try {
    const previous = await currentSigningKid(database.db);
    const kid = await rotateSigningKey(database.db, deriveKeyEncryptionKey(config.appSecret));
    out.write(previous
      ? `rotated jwt-signing-key: new kid ${kid}, previous ${previous} stays valid for verification\n`
      : `rotated jwt-signing-key: new kid ${kid} (there was no previous key)\n`);
  } catch (error) {
    const explained = explainMissingTables(error);
    if (explained instanceof IdentityTablesMissing) throw new CliExit(EXIT.failure, [`rampart: ${explained.message}`]);
    throw error;
  } finally {
    await database.close();
  }
}
