import { Algorithm, hash, verify } from '@node-rs/argon2';
import { concurrencyGate } from '../../platform/concurrency/concurrency-gate.js';
import bcrypt from 'bcryptjs';

export interface Argon2Params {
  memoryKib: number;
  timeCost: number;
  parallelism: number;
  /** Hashes computed at once; further ones wait their turn (AUTH_HASH_CONCURRENCY). */
  concurrency: number;
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
// a login storm does not block the event loop. It can still starve it of CPU: with as many
// hashes as cores running, every other request waits for a core. Hence the gate: by default
// one core stays free for the event loop (measured in bench/auth.mjs's login storm).
export async function createPasswordHasher(params: Argon2Params): Promise<PasswordHasher> {
  const options = { algorithm: Algorithm.Argon2id, memoryCost: params.memoryKib, timeCost: params.timeCost, parallelism: params.parallelism };
  const gate = concurrencyGate(params.concurrency);
  const hashPassword = (password: string) => gate(() => hash(password, options));
  const verifyArgon2 = (storedHash: string, password: string) => gate(() => verify(storedHash, password)).catch(() => false);
  // A real hash at the current cost: verifying against it costs what a real login costs.
  // Computed on the thread pool while start-up goes on (it took 70-200 ms of the embedded
  // start); the first unknown-account login waits for it if it comes that early.
  const dummy = hashPassword('rampart: no such account');
  // Settled here so a failure is never unhandled; verifyNothing still sees it reject.
  dummy.catch(() => undefined);

  return {
    hash: hashPassword,
    async verify(storedHash, password) {
      if (BCRYPT.test(storedHash)) return { ok: await gate(() => bcrypt.compare(password, storedHash)), rehash: true };
      const current = ARGON2ID_PARAMS.exec(storedHash);
      if (!current) return { ok: false, rehash: false };
      const ok = await verifyArgon2(storedHash, password);
      const [, m, t, p] = current.map(Number);
      const weaker = m! < params.memoryKib || t! < params.timeCost || p !== params.parallelism;
      return { ok, rehash: ok && weaker };
    },
    async verifyNothing(password) {
      await verifyArgon2(await dummy, password);
      return false;
    },
  };
}
