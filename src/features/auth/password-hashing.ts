import { Algorithm, hash, verify } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';

export interface Argon2Params {
  memoryKib: number;
  timeCost: number;
  parallelism: number;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** `rehash` is true when the stored hash is bcrypt or weaker than the current parameters. */
  verify(storedHash: string, password: string): Promise<{ ok: boolean; rehash: boolean }>;
  /** Spends the time of one verification and fails: the answer for an unknown account. */
  verifyNothing(password: string): Promise<false>;
}

const BCRYPT = /^\$2[aby]\$\d{2}\$/;
const ARGON2ID_PARAMS = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/;

// argon2 runs on the libuv thread pool and bcryptjs's async API yields between rounds, so
// a login storm does not block the event loop. Keep UV_THREADPOOL_SIZE ≥ cores.
export async function createPasswordHasher(params: Argon2Params): Promise<PasswordHasher> {
  const options = { algorithm: Algorithm.Argon2id, memoryCost: params.memoryKib, timeCost: params.timeCost, parallelism: params.parallelism };
  const hashPassword = (password: string) => hash(password, options);
  // A real hash at the current cost: verifying against it costs what a real login costs.
  const dummy = await hashPassword('rampart: no such account');

  return {
    hash: hashPassword,
    async verify(storedHash, password) {
      if (BCRYPT.test(storedHash)) return { ok: await bcrypt.compare(password, storedHash), rehash: true };
      const current = ARGON2ID_PARAMS.exec(storedHash);
      if (!current) return { ok: false, rehash: false };
      const ok = await verify(storedHash, password).catch(() => false);
      const [, m, t, p] = current.map(Number);
      const weaker = m! < params.memoryKib || t! < params.timeCost || p !== params.parallelism;
      return { ok, rehash: ok && weaker };
    },
    async verifyNothing(password) {
      await verify(dummy, password).catch(() => false);
      return false;
    },
  };
}
