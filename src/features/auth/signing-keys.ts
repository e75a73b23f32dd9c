import { createPrivateKey, createPublicKey, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { sql, type Kysely } from 'kysely';
import type { Tables } from '../../platform/db/tables.js';
import { deriveSealingKey, openSealedSecret, sealSecret } from './secret-sealing.js';

export const SIGNING_ALG = 'EdDSA';

const UNDEFINED_TABLE = '42P01';

/** The identity tables do not exist: the database was never migrated. */
export class IdentityTablesMissing extends Error {
  constructor(cause: unknown) {
    super('the database has no identity tables yet: run `rampart migrate up` first', { cause });
  }
}

/** A missing-table error from reading the keys, said in words an operator can act on; any other error as it was. */
export function explainMissingTables(error: unknown): unknown {
  return (error as { code?: string }).code === UNDEFINED_TABLE ? new IdentityTablesMissing(error) : error;
}

export interface SigningKey {
  kid: string;
  publicJwk: JWK;
  publicKey: KeyObject;
  privateKey: KeyObject;
  createdAt: Date;
}

/** The keys this instance signs and verifies with: the newest signs, the two newest verify. */
export interface Keyring {
  current(): SigningKey;
  /** The verification key for `kid`, re-reading the table (at most every few seconds) for a kid another instance just created. */
  find(kid: string): Promise<SigningKey | undefined>;
  /** Public keys to publish: current and previous. */
  jwks(): { keys: JWK[] };
}

/** A key for the signing keys' private halves, derived from APP_SECRET and used for nothing else. */
export function deriveKeyEncryptionKey(appSecret: string): Buffer {
  return deriveSealingKey(appSecret, 'signing-keys/aes-256-gcm/v1');
}

/** AES-256-GCM; the kid is authenticated too, so a ciphertext cannot be moved to another row. */
export function encryptPrivateKey(privateKey: KeyObject, kid: string, kek: Buffer): string {
  return sealSecret(privateKey.export({ format: 'der', type: 'pkcs8' }), kid, kek);
}

export function decryptPrivateKey(sealed: string, kid: string, kek: Buffer): KeyObject {
  let der: Buffer;
  try {
    der = openSealedSecret(sealed, kid, kek);
  } catch (cause) {
    throw new Error(`signing key ${kid} cannot be decrypted: was APP_SECRET changed?`, { cause });
  }
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
}

/** A new Ed25519 key whose kid is its RFC 7638 thumbprint. */
export async function generateSigningKey(): Promise<Omit<SigningKey, 'createdAt'>> {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const exported = publicKey.export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint(exported);
  return { kid, publicKey, privateKey, publicJwk: { ...exported, kid, alg: SIGNING_ALG, use: 'sig' } };
}

// Any constant; it only has to be the same in every instance.
const CREATE_KEY_LOCK = 0x5241_4d50;

async function insertSigningKey(db: Kysely<Tables>, kek: Buffer): Promise<string> {
  const key = await generateSigningKey();
  await db.insertInto('signing_keys').values({
    kid: key.kid,
    alg: SIGNING_ALG,
    public_jwk: JSON.stringify(key.publicJwk),
    private_key_encrypted: encryptPrivateKey(key.privateKey, key.kid, kek),
  }).execute();
  return key.kid;
}

/**
 * A new key becomes current; the previous one keeps verifying (tokens it signed stay valid
 * until they expire) and any older one is retired.
 */
export async function rotateSigningKey(db: Kysely<Tables>, kek: Buffer): Promise<string> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${CREATE_KEY_LOCK})`.execute(trx);
    const kid = await insertSigningKey(trx, kek);
    const keep = trx.selectFrom('signing_keys').select('kid').where('retired_at', 'is', null).orderBy('created_at', 'desc').limit(2);
    await trx.updateTable('signing_keys').set({ retired_at: new Date() }).where('retired_at', 'is', null).where('kid', 'not in', keep).execute();
    return kid;
  });
}

/** Creates the first signing key unless one exists; N instances starting together create one. */
export async function ensureSigningKey(db: Kysely<Tables>, kek: Buffer): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${CREATE_KEY_LOCK})`.execute(trx);
    const existing = await trx.selectFrom('signing_keys').select('kid').where('retired_at', 'is', null).limit(1).executeTakeFirst();
    if (!existing) await insertSigningKey(trx, kek);
  });
}

async function readActiveKeys(db: Kysely<Tables>, kek: Buffer): Promise<SigningKey[]> {
  const rows = await db
    .selectFrom('signing_keys')
    .selectAll()
    .where('retired_at', 'is', null)
    .where('alg', '=', SIGNING_ALG)
    .orderBy('created_at', 'desc')
    .limit(2)
    .execute();
  return rows.map((row) => {
    const publicJwk = row.public_jwk as JWK;
    return {
      kid: row.kid,
      publicJwk,
      publicKey: createPublicKey({ key: publicJwk as JsonWebKey, format: 'jwk' }),
      privateKey: decryptPrivateKey(row.private_key_encrypted, row.kid, kek),
      createdAt: row.created_at,
    };
  });
}

const RELOAD_INTERVAL_MS = 5_000;

/** A keyring that also re-reads the table on a timer, until stopped. */
export interface RefreshingKeyring extends Keyring {
  /** Re-reads the table now (SIGHUP, a secrets refresh); a failed read keeps the keys in use. */
  reload(): Promise<void>;
  stop(): void;
}

export interface KeyringRefresh {
  /**
   * Re-read the table this often, so a key rotated by `rampart secrets rotate` (or another
   * instance) signs here too without a restart, and a retired key stops verifying. Absent: never.
   */
  intervalMs?: number | undefined;
  onError?: (error: unknown) => void;
}

export async function loadKeyring(db: Kysely<Tables>, kek: Buffer, refresh: KeyringRefresh = {}): Promise<RefreshingKeyring> {
  await ensureSigningKey(db, kek);
  let keys = await readActiveKeys(db, kek);
  let lastLoad = Date.now();
  let reloading: Promise<void> | undefined;

  const reload = () => {
    reloading ??= readActiveKeys(db, kek)
      .then((fresh) => {
        if (fresh.length > 0) keys = fresh;
      })
      .finally(() => {
        lastLoad = Date.now();
        reloading = undefined;
      });
    return reloading;
  };

  // A failed read keeps the keys we have: the database being away must not stop token checks.
  const timer = refresh.intervalMs ? setInterval(() => void reload().catch((error: unknown) => refresh.onError?.(error)), refresh.intervalMs) : undefined;
  timer?.unref();

  return {
    current: () => keys[0]!,
    async find(kid) {
      const known = keys.find((key) => key.kid === kid);
      if (known) return known;
      // Unknown kids come from forged tokens too: the reload is rate-limited so they cannot
      // turn into a query per request.
      if (Date.now() - lastLoad < RELOAD_INTERVAL_MS) return undefined;
      await reload();
      return keys.find((key) => key.kid === kid);
    },
    jwks: () => ({ keys: keys.map((key) => key.publicJwk) }),
    reload,
    stop: () => clearInterval(timer),
  };
}

/** The kid new tokens are signed with (the newest live key), if any key exists. */
export async function currentSigningKid(db: Kysely<Tables>): Promise<string | undefined> {
  const row = await db.selectFrom('signing_keys').select('kid').where('retired_at', 'is', null).where('alg', '=', SIGNING_ALG).orderBy('created_at', 'desc').limit(1).executeTakeFirst();
  return row?.kid;
}
