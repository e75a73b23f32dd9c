import { decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { authEnv, bearer, logIn, signUp, uniqueEmail } from '../support/auth-client.js';
import { databaseTargets } from '../support/databases.js';
import { runCli, startRampart } from '../support/rampart-process.js';

const kidOf = (token: string) => decodeProtectedHeader(token).kid!;
const ROTATED = /^rotated jwt-signing-key: new kid ([A-Za-z0-9_-]{43}), previous ([A-Za-z0-9_-]{43}) stays valid for verification\n$/;

describe('rampart secrets rotate', () => {
  it('names the supported secrets and exits 2 for the others', async () => {
    const { code, stderr } = await runCli(['secrets', 'rotate', 'app-password']);
    // stderr in the message: a fresh-clone run once saw exit 1 here and printed nothing else.
    expect(code, `stderr: ${stderr}`).toBe(2);
    expect(stderr).toMatch(/unknown secret "app-password" \(supported: jwt-signing-key, field-encryption-key, api-key-pepper\)/);
  });
});

const postgres = databaseTargets().find((factory) => factory.name === 'postgres')!;

// PGlite is one process's database: a CLI cannot open it while a server holds it, so the
// live rotation runs on PostgreSQL (the embedded case is rotate-then-restart).
describe.skipIf(!postgres.available)('jwt-signing-key rotation on a running instance (postgres)', () => {
  it('keeps old tokens valid, signs with the new key after the refresh, and retires the oldest key on the next rotation', async () => {
    const target = await postgres.create();
    const env = authEnv(target, { AUTH_KEYRING_REFRESH_S: '1' });
    const rampart = await startRampart({ env });
    try {
      const email = uniqueEmail('rotation');
      await signUp(rampart, email);
      const tokenA = (await logIn(rampart, email)).access_token;
      const me = (token: string) => rampart.request('/v1/me', { headers: bearer(token) });
      const jwksKids = async () => (await rampart.request('/.well-known/jwks.json')).json<{ keys: Array<{ kid: string; d?: string }> }>().keys.map((k) => k.kid);

      const first = await runCli(['secrets', 'rotate', 'jwt-signing-key'], env);
      expect(first.code, first.stderr).toBe(0);
      const [, kid2, previous] = ROTATED.exec(first.stdout)!;
      expect(previous).toBe(kidOf(tokenA));
      expect(first.stdout + first.stderr).not.toMatch(/PRIVATE|"d"|"x"/);

      expect((await me(tokenA)).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(await jwksKids()).toEqual([kid2, kidOf(tokenA)]);
      const tokenB = (await logIn(rampart, email)).access_token;
      expect(kidOf(tokenB)).toBe(kid2);
      expect((await me(tokenB)).status).toBe(200);
      expect((await me(tokenA)).status).toBe(200);

      // A key signs until the next rotation and verifies until the one after: the second
      // rotation retires token A's key, so A is refused although it has not expired.
      const second = await runCli(['secrets', 'rotate', 'jwt-signing-key'], env);
      expect(second.code, second.stderr).toBe(0);
      const [, kid3] = ROTATED.exec(second.stdout)!;
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(await jwksKids()).toEqual([kid3, kid2]);
      expect((await me(tokenA)).status).toBe(401);
      expect((await me(tokenB)).status).toBe(200);
    } finally {
      await rampart.stop();
      await target.cleanup();
    }
  });
});

describe.skipIf(!postgres.available)('jwt-signing-key rotation picked up on SIGHUP (postgres)', () => {
  it('a SIGHUP makes the new key sign at once, without waiting for AUTH_KEYRING_REFRESH_S', async () => {
    const target = await postgres.create();
    const env = authEnv(target, { AUTH_KEYRING_REFRESH_S: '3600' });
    const rampart = await startRampart({ env });
    try {
      const email = uniqueEmail('rotation-sighup');
      await signUp(rampart, email);
      const tokenA = (await logIn(rampart, email)).access_token;
      const rotated = await runCli(['secrets', 'rotate', 'jwt-signing-key'], env);
      expect(rotated.code, rotated.stderr).toBe(0);
      const [, kid2] = ROTATED.exec(rotated.stdout)!;
      // Without the signal the hour-long refresh would keep the old key signing.
      expect(kidOf((await logIn(rampart, email)).access_token)).toBe(kidOf(tokenA));
      rampart.child.kill('SIGHUP');
      await rampart.waitForLog((l) => l.msg === 'secrets refreshed', 5_000);
      const tokenB = (await logIn(rampart, email)).access_token;
      expect(kidOf(tokenB)).toBe(kid2);
      expect((await rampart.request('/v1/me', { headers: bearer(tokenA) })).status).toBe(200);
      expect((await rampart.request('/v1/me', { headers: bearer(tokenB) })).status).toBe(200);
    } finally {
      await rampart.stop();
      await target.cleanup();
    }
  });
});

const pglite = databaseTargets().find((factory) => factory.name === 'pglite')!;

describe('jwt-signing-key rotation on the embedded database (pglite)', () => {
  it('rotates while the server is stopped; after a restart old tokens verify and new ones use the new key', async () => {
    const target = await pglite.create();
    const env = authEnv(target);
    try {
      let rampart = await startRampart({ env });
      const email = uniqueEmail('rotation-embedded');
      await signUp(rampart, email);
      const tokenA = (await logIn(rampart, email)).access_token;
      await rampart.stop();

      const rotated = await runCli(['secrets', 'rotate', 'jwt-signing-key'], env);
      expect(rotated.code, rotated.stderr).toBe(0);
      const [, kid2, previous] = ROTATED.exec(rotated.stdout)!;
      expect(previous).toBe(kidOf(tokenA));

      rampart = await startRampart({ env });
      try {
        expect((await rampart.request('/v1/me', { headers: bearer(tokenA) })).status).toBe(200);
        expect(kidOf((await logIn(rampart, email)).access_token)).toBe(kid2);
      } finally {
        await rampart.stop();
      }
    } finally {
      await target.cleanup();
    }
  });
});
