import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { concurrencyGate, createPasswordHasher } from './password-hashing.js';

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

describe('the hashing gate', () => {
  it('runs at most the limit at once, the rest in arrival order, and survives failures', async () => {
    const gate = concurrencyGate(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const task = (id: number, fail = false) => gate(async () => {
      running++;
      peak = Math.max(peak, running);
      order.push(id);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      if (fail) throw new Error(`task ${id} failed`);
      return id;
    });
    const results = await Promise.allSettled([task(1), task(2, true), task(3), task(4), task(5)]);
    expect(peak).toBe(2);
    expect(order).toEqual([1, 2, 3, 4, 5]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    // Every slot came back: the gate is free again.
    expect(await Promise.all([task(6), task(7)])).toEqual([6, 7]);
    expect(running).toBe(0);
  });

  it('refuses a limit that is not a whole number ≥ 1', () => {
    expect(() => concurrencyGate(0)).toThrow(/≥ 1/);
    expect(() => concurrencyGate(1.5)).toThrow(/≥ 1/);
  });
});
