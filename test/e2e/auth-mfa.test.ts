import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateTotp } from '../../src/features/auth/primitives/totp.js';
import { authEnv, bearer, logIn, postJson, signUp, uniqueEmail, withDatabase, type TokenPair, rampartOnFreshDatabase } from '../support/auth-client.js';
import { databaseTargets } from '../support/databases.js';
import { readSeries } from '../support/metrics-text.js';
import { startRampart, type HttpResponse } from '../support/rampart-process.js';

const STEP_MS = 30_000;
// Each TOTP code is accepted once, so a test spends steps in order: the previous step's code
// (activation), the current one, then the next one; the ±1 step window accepts all three.
const previousCode = (secret: string) => generateTotp({ secret, now: Date.now() - STEP_MS });
const currentCode = (secret: string) => generateTotp({ secret, now: Date.now() });
const nextCode = (secret: string) => generateTotp({ secret, now: Date.now() + STEP_MS });
// The previous step's code dies when the server's clock enters the next step, so it is not
// sent in the last second of a step.
async function clearOfStepBoundary(): Promise<void> {
  const left = STEP_MS - (Date.now() % STEP_MS);
  if (left < 1000) await new Promise((resolve) => setTimeout(resolve, left + 50));
}

interface MfaChallenge {
  mfa_required: true;
  mfa_token: string;
}

describe.each(databaseTargets())('TOTP MFA on $name', (factory) => {
  describe.skipIf(!factory.available)('enrolment, sign-in with a second factor, backup codes', () => {
    const suite = rampartOnFreshDatabase(factory);

    const me = (accessToken: string) => suite.rampart.request('/v1/me', { headers: bearer(accessToken) });
    const verify = (body: Record<string, unknown>) => postJson(suite.rampart, '/v1/auth/mfa/verify', body);
    // Node's client frames a DELETE body only when told its length (no chunked default).
    const withBody = (method: string, body: unknown, headers: Record<string, string> = {}) => {
      const json = JSON.stringify(body);
      return { method, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(json)), ...headers }, body: json };
    };
    const disable = (accessToken: string, body: unknown) => suite.rampart.request('/v1/auth/mfa/totp', withBody('DELETE', body, bearer(accessToken)));
    const expectProblem = (res: HttpResponse, status: number, slug: string) => {
      expect(res.status, res.body).toBe(status);
      expect(res.json()).toMatchObject({ type: `/problems/${slug}` });
    };

    async function passwordStep(email: string): Promise<MfaChallenge> {
      const res = await postJson(suite.rampart, '/v1/auth/login', { email, password: 'purple tangerine skyline' });
      expect(res.status).toBe(200);
      const body = res.json<MfaChallenge>();
      expect(body).toEqual({ mfa_required: true, mfa_token: expect.any(String) });
      return body;
    }

    /** A signed-in user who enrolled and activated TOTP. */
    async function withMfa(label: string): Promise<{ email: string; pair: TokenPair; secret: string; backupCodes: string[] }> {
      const email = uniqueEmail(label);
      await signUp(suite.rampart, email);
      const pair = await logIn(suite.rampart, email);
      const enrol = await postJson(suite.rampart, '/v1/auth/mfa/totp/enroll', {}, bearer(pair.access_token));
      expect(enrol.status, enrol.body).toBe(200);
      const { secret } = enrol.json<{ secret: string }>();
      await clearOfStepBoundary();
      const activate = await postJson(suite.rampart, '/v1/auth/mfa/totp/activate', { code: previousCode(secret) }, bearer(pair.access_token));
      expect(activate.status, activate.body).toBe(200);
      return { email, pair, secret, backupCodes: activate.json<{ backup_codes: string[] }>().backup_codes };
    }

    it('enrols: a secret, its otpauth URI and a QR code; nothing changes at login until activation', async () => {
      const email = uniqueEmail('enrol');
      await signUp(suite.rampart, email);
      const pair = await logIn(suite.rampart, email);
      const first = await postJson(suite.rampart, '/v1/auth/mfa/totp/enroll', {}, bearer(pair.access_token));
      expect(first.status).toBe(200);
      expect(first.headers['cache-control']).toBe('no-store');
      const enrolment = first.json<{ secret: string; otpauth_uri: string; qr_svg: string }>();
      expect(enrolment.secret).toMatch(/^[A-Z2-7]{32}$/);
      expect(enrolment.otpauth_uri).toMatch(/^otpauth:\/\/totp\/.*secret=[A-Z2-7]{32}/);
      expect(enrolment.otpauth_uri).toContain(encodeURIComponent(email));
      expect(enrolment.qr_svg).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
      expect(await logIn(suite.rampart, email)).toHaveProperty('access_token');

      // Re-enrolling replaces the pending secret: the first one's codes no longer activate.
      const second = (await postJson(suite.rampart, '/v1/auth/mfa/totp/enroll', {}, bearer(pair.access_token))).json<{ secret: string }>();
      expect(second.secret).not.toBe(enrolment.secret);
      expectProblem(await postJson(suite.rampart, '/v1/auth/mfa/totp/activate', { code: currentCode(enrolment.secret) }, bearer(pair.access_token)), 401, 'invalid-mfa-code');
      const activated = await postJson(suite.rampart, '/v1/auth/mfa/totp/activate', { code: currentCode(second.secret) }, bearer(pair.access_token));
      expect(activated.status).toBe(200);
      const { backup_codes } = activated.json<{ backup_codes: string[] }>();
      expect(backup_codes).toHaveLength(10);
      expect(new Set(backup_codes).size).toBe(10);

      expectProblem(await postJson(suite.rampart, '/v1/auth/mfa/totp/enroll', {}, bearer(pair.access_token)), 409, 'mfa-already-active');
      expectProblem(await postJson(suite.rampart, '/v1/auth/mfa/totp/activate', { code: nextCode(second.secret) }, bearer(pair.access_token)), 409, 'mfa-already-active');
    });

    it('signs in with a TOTP code after the password, and refuses the same code again', async () => {
      const { email, secret } = await withMfa('totp');
      const challenge = await passwordStep(email);
      const code = currentCode(secret);
      const res = await verify({ mfa_token: challenge.mfa_token, code });
      expect(res.status, res.body).toBe(200);
      const pair = res.json<TokenPair>();
      expect(pair).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String), refresh_token: expect.any(String) });
      expect((await me(pair.access_token)).status).toBe(200);
      expect((await postJson(suite.rampart, '/v1/auth/refresh', { refresh_token: pair.refresh_token })).status).toBe(200);

      const counted = ['auth_mfa_failures_total', 'auth_failures_total{reason="mfa_invalid"}'];
      const before = await readSeries(suite.rampart, counted);
      const replay = await verify({ mfa_token: (await passwordStep(email)).mfa_token, code });
      expectProblem(replay, 401, 'invalid-mfa-code');
      // A wrong code counts as an MFA failure on the metrics port.
      const after = await readSeries(suite.rampart, counted);
      expect(counted.map((series) => after[series]! - before[series]!)).toEqual([1, 1]);
    });

    it('accepts a backup code once', async () => {
      const { email, backupCodes } = await withMfa('backup');
      const first = await verify({ mfa_token: (await passwordStep(email)).mfa_token, backup_code: backupCodes[0] });
      expect(first.status, first.body).toBe(200);
      expect((await me(first.json<TokenPair>().access_token)).status).toBe(200);

      const again = await verify({ mfa_token: (await passwordStep(email)).mfa_token, backup_code: backupCodes[0] });
      expectProblem(again, 401, 'invalid-mfa-code');
      // Typed with spaces and in capitals, another code still works.
      const typed = backupCodes[1]!.toUpperCase().replace(/-/g, ' ');
      expect((await verify({ mfa_token: (await passwordStep(email)).mfa_token, backup_code: typed })).status).toBe(200);
    });

    it('the mfa_token is not an access token, works once, and forged tokens are refused', async () => {
      const { email, secret } = await withMfa('token');
      const challenge = await passwordStep(email);
      expectProblem(await me(challenge.mfa_token), 401, 'invalid-token');
      expectProblem(await suite.rampart.request('/v1/auth/sessions', { headers: bearer(challenge.mfa_token) }), 401, 'invalid-token');

      expect((await verify({ mfa_token: challenge.mfa_token, code: currentCode(secret) })).status).toBe(200);
      expectProblem(await verify({ mfa_token: challenge.mfa_token, code: nextCode(secret) }), 401, 'invalid-mfa-token');

      const forged = challenge.mfa_token.slice(0, -2) + (challenge.mfa_token.endsWith('AA') ? 'BB' : 'AA');
      expectProblem(await verify({ mfa_token: forged, code: nextCode(secret) }), 401, 'invalid-mfa-token');
      expectProblem(await verify({ mfa_token: 'x'.repeat(43), code: nextCode(secret) }), 401, 'invalid-mfa-token');
    });

    it('refuses a wrong code without using up the challenge', async () => {
      const { email, secret } = await withMfa('wrong');
      const challenge = await passwordStep(email);
      const wrong = currentCode(secret) === '000000' ? '111111' : '000000';
      expectProblem(await verify({ mfa_token: challenge.mfa_token, code: wrong }), 401, 'invalid-mfa-code');
      expectProblem(await verify({ mfa_token: challenge.mfa_token, backup_code: 'aaaaa-bbbbb-ccccc-ddddd-eeeee' }), 401, 'invalid-mfa-code');
      expect((await verify({ mfa_token: challenge.mfa_token, code: currentCode(secret) })).status).toBe(200);
    });

    it('disabling with a code (TOTP or backup) turns MFA off: login returns tokens directly', async () => {
      const { email, pair, secret, backupCodes } = await withMfa('disable');
      expectProblem(await disable(pair.access_token, { code: '000000' }), 401, 'invalid-mfa-code');
      expect((await disable(pair.access_token, { code: backupCodes[0] })).status).toBe(204);
      expect(await logIn(suite.rampart, email)).toHaveProperty('access_token');
      expectProblem(await disable(pair.access_token, { code: currentCode(secret) }), 409, 'mfa-not-active');

      // With TOTP this time, after enrolling again.
      const { secret: again } = (await postJson(suite.rampart, '/v1/auth/mfa/totp/enroll', {}, bearer(pair.access_token))).json<{ secret: string }>();
      await clearOfStepBoundary();
      expect((await postJson(suite.rampart, '/v1/auth/mfa/totp/activate', { code: previousCode(again) }, bearer(pair.access_token))).status).toBe(200);
      expect((await disable(pair.access_token, { code: currentCode(again) })).status).toBe(204);
      expect(await logIn(suite.rampart, email)).toHaveProperty('access_token');
    });

    it('regenerating backup codes kills the old ones', async () => {
      const { email, pair, secret, backupCodes } = await withMfa('regenerate');
      const res = await postJson(suite.rampart, '/v1/auth/mfa/backup-codes/regenerate', { code: currentCode(secret) }, bearer(pair.access_token));
      expect(res.status, res.body).toBe(200);
      const fresh = res.json<{ backup_codes: string[] }>().backup_codes;
      expect(fresh).toHaveLength(10);
      expect(fresh.some((code) => backupCodes.includes(code))).toBe(false);

      expectProblem(await verify({ mfa_token: (await passwordStep(email)).mfa_token, backup_code: backupCodes[1] }), 401, 'invalid-mfa-code');
      expect((await verify({ mfa_token: (await passwordStep(email)).mfa_token, backup_code: fresh[0] })).status).toBe(200);
      expectProblem(await postJson(suite.rampart, '/v1/auth/mfa/backup-codes/regenerate', { code: '123456' }, bearer(pair.access_token)), 401, 'invalid-mfa-code');
    });

    it('refuses bad bodies with 422 and unauthenticated MFA changes with 401', async () => {
      const { email, pair } = await withMfa('bodies');
      const { mfa_token } = await passwordStep(email);
      const badVerify = [
        {},
        { mfa_token },
        { mfa_token, code: '123456', backup_code: 'aaaaa-bbbbb-ccccc-ddddd-eeeee' },
        { mfa_token, code: 123456 },
        { mfa_token, code: '1'.repeat(100) },
        { mfa_token, code: '123456', extra: true },
        { mfa_token: '', code: '123456' },
      ];
      for (const body of badVerify) expectProblem(await verify(body), 422, 'validation-failed');
      for (const path of ['/v1/auth/mfa/totp/activate', '/v1/auth/mfa/backup-codes/regenerate']) {
        expectProblem(await postJson(suite.rampart, path, {}, bearer(pair.access_token)), 422, 'validation-failed');
        expectProblem(await postJson(suite.rampart, path, { code: ['123456'] }, bearer(pair.access_token)), 422, 'validation-failed');
      }
      expectProblem(await disable(pair.access_token, { code: '' }), 422, 'validation-failed');

      for (const [method, path] of [['POST', '/v1/auth/mfa/totp/enroll'], ['POST', '/v1/auth/mfa/totp/activate'], ['DELETE', '/v1/auth/mfa/totp'], ['POST', '/v1/auth/mfa/backup-codes/regenerate']] as const) {
        const res = await suite.rampart.request(path, withBody(method, { code: '123456' }));
        expectProblem(res, 401, 'invalid-token');
      }
    });

    it('refuses an expired mfa_token', async () => {
      const { email, secret } = await withMfa('expired');
      const { mfa_token } = await passwordStep(email);
      // PGlite is one process's database: stop Rampart to age the challenge, then start it again.
      await suite.rampart.stop();
      await withDatabase(suite.target, (db) => db.updateTable('mfa_challenges').set({ expires_at: new Date(Date.now() - 1000) }).where('token_hash', '=', createHash('sha256').update(mfa_token).digest('hex')).execute());
      suite.rampart = await startRampart({ env: authEnv(suite.target) });
      expectProblem(await verify({ mfa_token, code: currentCode(secret) }), 401, 'invalid-mfa-token');
    });

    it('stores the TOTP secret encrypted and backup codes only as hashes, and audits every MFA change', async () => {
      const { pair, secret, backupCodes } = await withMfa('at-rest');
      await suite.rampart.stop();
      await withDatabase(suite.target, async (db) => {
        const owner = await db.selectFrom('sessions').select('user_id').where('id', '=', JSON.parse(Buffer.from(pair.access_token.split('.')[1]!, 'base64url').toString()).sid).executeTakeFirstOrThrow();
        const totp = await db.selectFrom('mfa_totp').selectAll().where('user_id', '=', owner.user_id).executeTakeFirstOrThrow();
        expect(totp.secret_encrypted).toMatch(/^v1\./);
        expect(totp.secret_encrypted).not.toContain(secret);
        const hashes = await db.selectFrom('mfa_backup_codes').select('code_hash').where('user_id', '=', owner.user_id).execute();
        expect(hashes).toHaveLength(10);
        const stored = JSON.stringify(hashes);
        for (const code of backupCodes) expect(stored).not.toContain(code.replace(/-/g, '').toUpperCase());

        const actions = (await db.selectFrom('audit_events').select('action').execute()).map((e) => e.action);
        expect(actions).toEqual(expect.arrayContaining([
          'auth.mfa.enrolled', 'auth.mfa.activated', 'auth.mfa.activation_failed', 'auth.login.mfa_required', 'auth.mfa.verified', 'auth.mfa.verify_failed',
          'auth.mfa.disabled', 'auth.mfa.disable_failed', 'auth.mfa.backup_codes_regenerated', 'auth.mfa.backup_codes_regeneration_failed',
        ]));
      });
    });
  });
});
