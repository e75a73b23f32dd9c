import { currentSigningKid, deriveKeyEncryptionKey, explainMissingTables, IdentityTablesMissing, rotateSigningKey } from '../features/auth/signing-keys.js';
import { CliExit, EXIT, openCommandDatabase, resolveConfig } from './bootstrap.js';

export const ROTATABLE_SECRETS = ['jwt-signing-key'] as const;
// Named now so that scripts get a clear answer instead of "unknown" once docs mention them.
const PLANNED_SECRETS = ['field-encryption-key', 'api-key-pepper'];


/**
 * `rampart secrets rotate <name>`. For `jwt-signing-key`: a new signing key becomes current;
 * the previous one keeps verifying, so tokens already issued stay valid; running instances
 * start signing with the new key within AUTH_KEYRING_REFRESH_S. Prints kids only (they are
 * public), never key material.
 */
export async function secretsRotateCommand(name: string, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  if (PLANNED_SECRETS.includes(name)) {
    throw new CliExit(EXIT.badConfig, [`rampart: rotating ${name} is not yet supported (supported: ${ROTATABLE_SECRETS.join(', ')})`]);
  }
  if (!(ROTATABLE_SECRETS as readonly string[]).includes(name)) {
    throw new CliExit(EXIT.badConfig, [`rampart: unknown secret "${name}" (supported: ${ROTATABLE_SECRETS.join(', ')}; not yet supported: ${PLANNED_SECRETS.join(', ')})`]);
  }
  const config = await resolveConfig();
  if (!config.appSecret) throw new CliExit(EXIT.badConfig, ['rampart: APP_SECRET is required (it encrypts the signing keys)']);
  const database = await openCommandDatabase(config);
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
