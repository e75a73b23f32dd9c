import { describe, expect, it } from 'vitest';
import { createPrivateKey, sign, verify, type JsonWebKey } from 'node:crypto';
import { migrateUp } from '../../platform/db/migrations.js';
import { databaseTargets, freshDatabasePerTest } from '../../../test/support/databases.js';
import { decryptPrivateKey, deriveKeyEncryptionKey, encryptPrivateKey, generateSigningKey, loadKeyring, rotateSigningKey } from './signing-keys.js';

const kek = deriveKeyEncryptionKey('an-app-secret-of-at-least-32-characters');

describe('signing key encryption', () => {
  it('round-trips a private key through AES-256-GCM', async () => {
    const key = await generateSigningKey();
    const sealed = encryptPrivateKey(key.privateKey, key.kid, kek);

    expect(sealed).toMatch(/^v1\./);
    expect(sealed).not.toContain(key.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64url'));
    const opened = decryptPrivateKey(sealed, key.kid, kek);
    const signature = sign(null, Buffer.from('message'), opened);
    expect(verify(null, Buffer.from('message'), key.publicKey, signature)).toBe(true);
  });

  it('refuses to open with another APP_SECRET, another kid, or a flipped byte', async () => {
    const key = await generateSigningKey();
    const sealed = encryptPrivateKey(key.privateKey, key.kid, kek);
    const [version, iv, ciphertext, tag] = sealed.split('.') as [string, string, string, string];
    const flipped = Buffer.from(ciphertext, 'base64url');
    flipped[0]! ^= 1;

    expect(() => decryptPrivateKey(sealed, key.kid, deriveKeyEncryptionKey('another-app-secret-of-at-least-32-chars'))).toThrow(/was APP_SECRET changed/);
    expect(() => decryptPrivateKey(sealed, 'another-kid', kek)).toThrow(/cannot be decrypted/);
    expect(() => decryptPrivateKey([version, iv, flipped.toString('base64url'), tag].join('.'), key.kid, kek)).toThrow(/cannot be decrypted/);
  });

  it('names keys by their RFC 7638 thumbprint and publishes only public parts', async () => {
    const key = await generateSigningKey();
    expect(key.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(key.publicJwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', kid: key.kid, use: 'sig' });
    expect(key.publicJwk).not.toHaveProperty('d');
    expect(() => createPrivateKey({ key: key.publicJwk as JsonWebKey, format: 'jwk' })).toThrow();
  });
});

describe.each(databaseTargets())('signing keys in the database ($name)', (factory) => {
  const fresh = freshDatabasePerTest(factory);

  it('creates one key at first start and reuses it afterwards', async () => {
    await migrateUp(fresh.handle);
    const [a, b] = await Promise.all([loadKeyring(fresh.handle.db, kek), loadKeyring(fresh.handle.db, kek)]);

    expect(a.current().kid).toBe(b.current().kid);
    expect(await fresh.handle.db.selectFrom('signing_keys').select('kid').execute()).toHaveLength(1);
  });

  it('after a rotation signs with the new key, still verifies with the previous one, and retires older ones', async () => {
    await migrateUp(fresh.handle);
    const first = (await loadKeyring(fresh.handle.db, kek)).current().kid;
    const second = await rotateSigningKey(fresh.handle.db, kek);
    const third = await rotateSigningKey(fresh.handle.db, kek);
    const keyring = await loadKeyring(fresh.handle.db, kek);

    expect(keyring.current().kid).toBe(third);
    expect(keyring.jwks().keys.map((k) => k.kid)).toEqual([third, second]);
    expect(await keyring.find(second)).toBeDefined();
    expect(await keyring.find(first)).toBeUndefined();
    const retired = await fresh.handle.db.selectFrom('signing_keys').select('kid').where('retired_at', 'is not', null).execute();
    expect(retired.map((r) => r.kid)).toEqual([first]);
  });

  it('stores the private key only encrypted', async () => {
    await migrateUp(fresh.handle);
    const keyring = await loadKeyring(fresh.handle.db, kek);
    const row = await fresh.handle.db.selectFrom('signing_keys').selectAll().executeTakeFirstOrThrow();
    const plain = keyring.current().privateKey.export({ format: 'der', type: 'pkcs8' });

    expect(row.private_key_encrypted).not.toContain(plain.toString('base64url'));
    expect(row.private_key_encrypted).not.toContain(plain.toString('base64'));
    expect(row.public_jwk).not.toHaveProperty('d');
  });
});
