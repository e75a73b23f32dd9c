import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { createPasswordHasher } from './password-hashing.js';

const fast = { memoryKib: 1024, timeCost: 1, parallelism: 1, concurrency: 2 };

describe('password hashing', () => {
  it('hashes with argon2id at the configured cost and verifies', async () => {
    const hasher = await createPasswordHasher(fast);
    const stored = await hasher.hash('correct horse battery');

    expect(stored).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
    expect(await hasher.verify(stored, 'correct horse battery')).toEqual({ ok: true, rehash: false });
    expect(await hasher.verify(stored, 'wrong horse battery')).toEqual({ ok: false, rehash: false });
  });

  it('verifies an imported bcrypt hash and asks for a rehash to argon2id', async () => {
    const hasher = await createPasswordHasher(fast);
    for (const prefix of ['$2a$', '$2b$']) {
      const imported = (await bcrypt.hash('imported password', 4)).replace(/^\$2[ab]\$/, prefix);
      expect(await hasher.verify(imported, 'imported password')).toEqual({ ok: true, rehash: true });
      expect(await hasher.verify(imported, 'not the password')).toMatchObject({ ok: false });
    }
  });

  it('asks for a rehash when the stored argon2id hash is cheaper than the current parameters', async () => {
    const old = await (await createPasswordHasher(fast)).hash('long enough password');
    const stronger = await createPasswordHasher({ memoryKib: 2048, timeCost: 2, parallelism: 1, concurrency: 1 });

    expect(await stronger.verify(old, 'long enough password')).toEqual({ ok: true, rehash: true });
  });

  it('refuses hashes it does not know instead of throwing', async () => {
    const hasher = await createPasswordHasher(fast);
    expect(await hasher.verify('plaintext', 'plaintext')).toEqual({ ok: false, rehash: false });
    expect(await hasher.verify('$argon2id$v=19$m=1024,t=1,p=1$garbage', 'x')).toEqual({ ok: false, rehash: false });
  });

  it('spends a verification on unknown accounts and always fails', async () => {
    const hasher = await createPasswordHasher(fast);
    expect(await hasher.verifyNothing('anything')).toBe(false);
  });
});
