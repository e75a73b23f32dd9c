import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { authEnv, PASSWORD, rampartOnFreshDatabase, signUp, uniqueEmail, withDatabase } from '../support/auth-client.js';
import { databaseTargets } from '../support/databases.js';
import { readSeries } from '../support/metrics-text.js';
import { startRampart, type HttpResponse, type RampartProcess } from '../support/rampart-process.js';

// Small thresholds keep the waits short: per account a delay after 2 failures and a 3 s lock
// after 4; per IP twice that. Each test speaks from its own loopback address, so IP counters
// of one test never touch another.
const LOCKOUT_S = 3;
const THROTTLE_ENV = { AUTH_THROTTLE_DELAY_AFTER: '2', AUTH_LOCKOUT_AFTER: '4', AUTH_LOCKOUT_S: String(LOCKOUT_S), AUTH_THROTTLE_IP_FACTOR: '2' };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function logIn(rampart: RampartProcess, email: string, password: string, from: string): Promise<HttpResponse> {
  return rampart.request('/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }), localAddress: from });
}

function expectTooManyAttempts(res: HttpResponse, retryAfterS: number): void {
  expect(res.status).toBe(429);
  expect(res.headers['retry-after']).toBe(String(retryAfterS));
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.json()).toMatchObject({ type: '/problems/too-many-attempts', status: 429, detail: `Too many failed attempts; try again in ${retryAfterS} s.` });
}

/** The answer without what differs per request anyway. */
const shape = (res: HttpResponse) => {
  const { correlation_id: _, ...rest } = res.json();
  return { status: res.status, retryAfter: res.headers['retry-after'], body: rest };
};

describe.each(databaseTargets())('brute-force protection on $name', (factory) => {
  describe.skipIf(!factory.available)('one process', () => {
    const suite = rampartOnFreshDatabase(factory, THROTTLE_ENV);

    it('after the delay threshold answers 429 with a Retry-After that grows with each failure', async () => {
      const email = uniqueEmail('delay');
      await signUp(suite.rampart, email);
      const from = '127.0.0.11';
      expect((await logIn(suite.rampart, email, 'wrong password one', from)).status).toBe(401);
      expect((await logIn(suite.rampart, email, 'wrong password two', from)).status).toBe(401);
      // Even the right password waits: the check comes before the password is looked at.
      expectTooManyAttempts(await logIn(suite.rampart, email, PASSWORD, from), 1);

      await sleep(1_100);
      expect((await logIn(suite.rampart, email, 'wrong password three', from)).status).toBe(401);
      expectTooManyAttempts(await logIn(suite.rampart, email, 'wrong password four', from), 2);
    });

    it('locks the account after the lockout threshold, even for the right password, and lets it in once the lock ends', async () => {
      const email = uniqueEmail('lock');
      await signUp(suite.rampart, email);
      const from = '127.0.0.12';
      for (const waitMs of [0, 0, 1_100, 2_100]) {
        await sleep(waitMs);
        expect((await logIn(suite.rampart, email, 'not the password', from)).status).toBe(401);
      }
      expectTooManyAttempts(await logIn(suite.rampart, email, PASSWORD, from), LOCKOUT_S);

      await sleep(LOCKOUT_S * 1000 + 100);
      expect((await logIn(suite.rampart, email, PASSWORD, from)).status).toBe(200);
      // Success starts the account's count again (not the IP's, hence another address).
      const elsewhere = '127.0.0.18';
      expect((await logIn(suite.rampart, email, 'not the password', elsewhere)).status).toBe(401);
      expect((await logIn(suite.rampart, email, PASSWORD, elsewhere)).status).toBe(200);
    });

    it('answers an unknown account exactly as a real one, wrong passwords and 429 alike', async () => {
      const known = uniqueEmail('known');
      await signUp(suite.rampart, known);
      const unknown = uniqueEmail('nobody');
      const answers = async (email: string, from: string) => {
        const seen = [];
        for (let i = 0; i < 3; i++) seen.push(shape(await logIn(suite.rampart, email, 'not the password', from)));
        return seen;
      };
      const real = await answers(known, '127.0.0.13');
      const ghost = await answers(unknown, '127.0.0.14');
      expect(ghost).toEqual(real);
      expect(ghost.map((a) => a.status)).toEqual([401, 401, 429]);
    });

    it('counts refusals by reason, and locks, on the metrics port; a request without credentials is no failure', async () => {
      const SERIES = [
        'auth_failures_total{reason="unknown_user"}',
        'auth_failures_total{reason="bad_password"}',
        'auth_failures_total{reason="locked"}',
        'auth_failures_total{reason="access_token_invalid"}',
        'auth_failures_total{reason="api_key_invalid"}',
        'auth_failures_total{reason="refresh_token_invalid"}',
        'auth_failures_total{reason="mfa_token_invalid"}',
        'auth_lockouts_total{scope="account"}',
        'auth_lockouts_total{scope="ip"}',
      ];
      const before = await readSeries(suite.rampart, SERIES);
      // Every known reason is exported from the start, so rate() sees the first failure.
      expect(Object.values(before).every((v) => typeof v === 'number'), JSON.stringify(before)).toBe(true);

      const email = uniqueEmail('counted');
      await signUp(suite.rampart, email);
      const from = '127.0.0.19';
      expect((await logIn(suite.rampart, uniqueEmail('counted-nobody'), 'not the password', '127.0.0.20')).status).toBe(401);
      for (const waitMs of [0, 0, 1_100, 2_100]) {
        await sleep(waitMs);
        expect((await logIn(suite.rampart, email, 'not the password', from)).status).toBe(401);
      }
      expectTooManyAttempts(await logIn(suite.rampart, email, PASSWORD, from), LOCKOUT_S);
      const json = { 'content-type': 'application/json' };
      expect((await suite.rampart.request('/v1/me', { headers: { authorization: 'Bearer not.a.token' } })).status).toBe(401);
      expect((await suite.rampart.request('/v1/me')).status).toBe(401);
      expect((await suite.rampart.request('/v1/api-keys', { headers: { 'x-api-key': 'rk_test_not_a_key' } })).status).toBe(401);
      expect((await suite.rampart.request('/v1/auth/refresh', { method: 'POST', headers: json, body: JSON.stringify({ refresh_token: 'forged-refresh-token' }) })).status).toBe(401);
      expect((await suite.rampart.request('/v1/auth/mfa/verify', { method: 'POST', headers: json, body: JSON.stringify({ mfa_token: 'forged-mfa-token', code: '123456' }), localAddress: '127.0.0.21' })).status).toBe(401);

      const after = await readSeries(suite.rampart, SERIES);
      const delta = Object.fromEntries(SERIES.map((s) => [s, after[s]! - before[s]!]));
      expect(delta).toEqual({
        'auth_failures_total{reason="unknown_user"}': 1,
        'auth_failures_total{reason="bad_password"}': 4,
        'auth_failures_total{reason="locked"}': 1,
        // The request with no Authorization header at all is not among them.
        'auth_failures_total{reason="access_token_invalid"}': 1,
        'auth_failures_total{reason="api_key_invalid"}': 1,
        'auth_failures_total{reason="refresh_token_invalid"}': 1,
        'auth_failures_total{reason="mfa_token_invalid"}': 1,
        'auth_lockouts_total{scope="account"}': 1,
        'auth_lockouts_total{scope="ip"}': 0,
      });
    });

    it('counts failures per client IP across accounts, and only for that IP', async () => {
      const from = '127.0.0.15';
      // IP thresholds are the account ones times AUTH_THROTTLE_IP_FACTOR: a delay after 4.
      for (let i = 0; i < 4; i++) expect((await logIn(suite.rampart, uniqueEmail('spray'), 'not the password', from)).status).toBe(401);
      const target = uniqueEmail('spray-target');
      expectTooManyAttempts(await logIn(suite.rampart, target, 'not the password', from), 1);
      expect((await logIn(suite.rampart, target, 'not the password', '127.0.0.16')).status).toBe(401);
    });

    it('throttles password-reset tokens per client IP', async () => {
      const from = '127.0.0.17';
      const reset = (token: string) => suite.rampart.request('/v1/auth/password/reset', {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, password: 'a brand new passphrase' }), localAddress: from,
      });
      for (let i = 0; i < 4; i++) expect((await reset(`guessed-token-${i}`)).status).toBe(400);
      expectTooManyAttempts(await reset('guessed-token-4'), 1);
    });
  });

  // With the cost argon2 has in production the hash is most of a login's time, so an unknown
  // account that skipped it would stand out (a ratio near 0.2). The suites' cheap 1 MiB hash
  // took about 1 ms of a 9 ms login on a busy machine: too little signal against that noise.
  describe.skipIf(!factory.available)('at the production password-hash cost', () => {
    const suite = rampartOnFreshDatabase(factory, { ...THROTTLE_ENV, AUTH_ARGON2_MEMORY_KIB: '19456', AUTH_ARGON2_TIME_COST: '2' });

    it('gives unknown accounts and wrong passwords the same timing (typical times within 20 %)', async () => {
      const rounds = 80;
      const accounts: string[] = [];
      for (let i = 0; i < rounds; i++) {
        const email = uniqueEmail('timing');
        await signUp(suite.rampart, email);
        accounts.push(email);
      }
      // Every request from its own address and every account failed once: below every threshold.
      const timed = async (email: string, from: string) => {
        const start = performance.now();
        const res = await logIn(suite.rampart, email, 'not the password', from);
        const elapsed = performance.now() - start;
        expect(res.status).toBe(401);
        return elapsed;
      };
      for (let i = 0; i < 4; i++) await timed(uniqueEmail('warm-up'), `127.0.2.${i + 1}`);
      const unknownMs: number[] = [];
      const wrongMs: number[] = [];
      for (let i = 0; i < rounds; i++) {
        // Alternating which goes first cancels drift in the machine's load.
        const unknown = () => timed(uniqueEmail('timing-nobody'), `127.0.1.${2 * i + 1}`).then((ms) => unknownMs.push(ms));
        const wrong = () => timed(accounts[i]!, `127.0.1.${2 * i + 2}`).then((ms) => wrongMs.push(ms));
        if (i % 2 === 0) { await unknown(); await wrong(); } else { await wrong(); await unknown(); }
      }
      // Each unknown/wrong pair ran back to back, so its ratio cancels the machine's load at
      // that moment; the median ratio ignores the scheduling hiccups of other test files
      // sharing two cores (10x a request, several in a row), which say nothing about Rampart.
      const ratios = unknownMs.map((ms, i) => ms / wrongMs[i]!).sort((a, b) => a - b);
      const mid = Math.floor(ratios.length / 2);
      const typical = ratios.length % 2 ? ratios[mid]! : (ratios[mid - 1]! + ratios[mid]!) / 2;
      const seen = `median unknown/wrong ratio of ${rounds} pairs ${typical.toFixed(2)}; ms unknown ${unknownMs.map((ms) => ms.toFixed(1)).join(' ')}; wrong ${wrongMs.map((ms) => ms.toFixed(1)).join(' ')}`;
      expect(typical, seen).toBeGreaterThan(0.8);
      expect(typical, seen).toBeLessThan(1.25);
    });
  });
});

const postgres = databaseTargets().find((target) => target.name === 'postgres')!;

// PGlite is one process's database, so only PostgreSQL can show a lock shared between instances.
describe.skipIf(!postgres.available)('brute-force protection across two processes on postgres', () => {
  const suite = rampartOnFreshDatabase(postgres, THROTTLE_ENV);

  it('a lock made through one instance holds on the other, and is audited', async () => {
    const second = await startRampart({ env: authEnv(suite.target, THROTTLE_ENV) });
    try {
      const email = uniqueEmail('shared-lock');
      const user = await signUp(suite.rampart, email);
      const from = '127.0.0.21';
      for (const waitMs of [0, 0, 1_100, 2_100]) {
        await sleep(waitMs);
        expect((await logIn(suite.rampart, email, 'not the password', from)).status).toBe(401);
      }
      expectTooManyAttempts(await logIn(second, email, PASSWORD, '127.0.0.22'), LOCKOUT_S);

      const lockouts = await withDatabase(suite.target, (db) =>
        db.selectFrom('audit_events').select(['audit_events.details', 'audit_events.ip'])
          .where('audit_events.action', '=', 'auth.lockout').where('audit_events.actor_id', '=', user.id).execute());
      expect(lockouts).toEqual([{ details: { scope: 'login-account', failures: 4, locked_for_s: LOCKOUT_S }, ip: from }]);
      const stored = await withDatabase(suite.target, (db) => db.selectFrom('auth_throttle').select('subject').execute());
      expect(stored.map((row) => row.subject).join(' ')).not.toContain('shared-lock');
    } finally {
      await second.stop();
    }
  });
});
