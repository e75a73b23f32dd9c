import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { authEnv, bearer, logIn, mailedTo, PASSWORD, postJson, signUp, uniqueEmail, withDatabase, rampartOnFreshDatabase } from '../support/auth-client.js';
import { databaseTargets } from '../support/databases.js';
import { startRampart, type HttpResponse } from '../support/rampart-process.js';

const NEW_PASSWORD = 'violet harbour lantern';
// The mail is sent by a job: the worker runs beside the web server.
const WITH_WORKER = ['serve', '--with-worker'];

describe.each(databaseTargets())('password reset on $name', (factory) => {
  describe.skipIf(!factory.available)('forgot and reset', () => {
    const suite = rampartOnFreshDatabase(factory, {}, WITH_WORKER);
    const tokensSeen: string[] = [];

    const expectProblem = (res: HttpResponse, status: number, slug: string) => {
      expect(res.status, res.body).toBe(status);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({ type: `/problems/${slug}` });
    };

    async function outbox(): Promise<Array<{ to: string; subject: string; text: string }>> {
      const directory = join(suite.target.dataDir, 'outbox');
      const names = (await readdir(directory).catch(() => [] as string[])).filter((name) => name.endsWith('.json')).sort();
      return Promise.all(names.map(async (name) => JSON.parse(await readFile(join(directory, name), 'utf8'))));
    }

    /** The mail is sent after the 202, so it is polled for. */
    async function mailTo(email: string): Promise<string> {
      for (let attempt = 0; attempt < 300; attempt++) {
        const message = (await outbox()).filter((m) => m.to === email).at(-1);
        if (message) {
          const token = /"token":"([A-Za-z0-9_-]+)"/.exec(message.text)![1]!;
          tokensSeen.push(token);
          return token;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`no mail to ${email}`);
    }

    async function forgotAndMail(label: string): Promise<{ email: string; token: string }> {
      const email = uniqueEmail(label);
      await signUp(suite.rampart, email);
      expect((await postJson(suite.rampart, '/v1/auth/password/forgot', { email })).status).toBe(202);
      return { email, token: await mailTo(email) };
    }

    it('answers an existing and an unknown address alike, and mails only the existing one', async () => {
      const known = uniqueEmail('known');
      const unknown = uniqueEmail('unknown');
      await signUp(suite.rampart, known);
      const a = await postJson(suite.rampart, '/v1/auth/password/forgot', { email: known });
      const b = await postJson(suite.rampart, '/v1/auth/password/forgot', { email: unknown });
      expect(a.status).toBe(202);
      expect(b.status).toBe(a.status);
      expect(b.body).toBe(a.body);
      const token = await mailTo(known);
      expect(Buffer.from(token, 'base64url').length).toBeGreaterThanOrEqual(32);
      // Give the unknown address's (absent) mail the same chance to appear.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await outbox()).filter((m) => m.to === unknown)).toEqual([]);
    });

    it('mails the token with the API step that uses it, not a link to a page that does not exist', async () => {
      const { email, token } = await forgotAndMail('mail-text');
      const message = (await outbox()).filter((m) => m.to === email).at(-1)!;
      expect(message.text).not.toMatch(/reset-password|#token=/);
      expect(message.text).toContain('no web page for this yet');
      // PUBLIC_BASE_URL's default.
      expect(message.text).toContain('curl -X POST http://localhost:8080/v1/auth/password/reset');
      expect(message.text).toContain(`"token":"${token}"`);
    });

    it('sets the new password, kills the old one and every session, and works once', async () => {
      const email = uniqueEmail('reset');
      await signUp(suite.rampart, email);
      const sessions = [await logIn(suite.rampart, email), await logIn(suite.rampart, email)];
      await postJson(suite.rampart, '/v1/auth/password/forgot', { email });
      const token = await mailTo(email);

      const reset = await postJson(suite.rampart, '/v1/auth/password/reset', { token, password: NEW_PASSWORD });
      expect(reset.status, reset.body).toBe(204);

      expectProblem(await postJson(suite.rampart, '/v1/auth/login', { email, password: PASSWORD }), 401, 'invalid-credentials');
      expect((await logIn(suite.rampart, email, NEW_PASSWORD)).token_type).toBe('Bearer');
      for (const pair of sessions) {
        expect((await suite.rampart.request('/v1/me', { headers: bearer(pair.access_token) })).status).toBe(401);
        expectProblem(await postJson(suite.rampart, '/v1/auth/refresh', { refresh_token: pair.refresh_token }), 401, 'invalid-refresh-token');
      }
      expectProblem(await postJson(suite.rampart, '/v1/auth/password/reset', { token, password: 'another fine passphrase' }), 400, 'invalid-reset-token');
    });

    it('refuses an unknown token with 400', async () => {
      expectProblem(await postJson(suite.rampart, '/v1/auth/password/reset', { token: 'A'.repeat(43), password: NEW_PASSWORD }), 400, 'invalid-reset-token');
    });

    it('refuses a weak new password with 422 naming the rule', async () => {
      const { token } = await forgotAndMail('weak');
      const res = await postJson(suite.rampart, '/v1/auth/password/reset', { token, password: 'Password1234' });
      expectProblem(res, 422, 'weak-password');
      expect(res.json<{ detail: string }>().detail).toContain('common-password');
    });

    it.each([
      ['no token', { password: NEW_PASSWORD }, '/v1/auth/password/reset'],
      ['an extra field', { token: 'x', password: NEW_PASSWORD, admin: true }, '/v1/auth/password/reset'],
      ['a malformed email', { email: "x'; drop table users;--@example.com" }, '/v1/auth/password/forgot'],
    ])('refuses a body with %s with 422', async (_label, body, path) => {
      expectProblem(await postJson(suite.rampart, path, body), 422, 'validation-failed');
    });

    it('refuses a token older than 30 minutes with 400', async () => {
      const { token } = await forgotAndMail('expired');
      // PGlite is one process's database: stop Rampart to age the reset, then start it again.
      await suite.rampart.stop();
      await withDatabase(suite.target, (db) => db.updateTable('password_resets').set({ expires_at: new Date(Date.now() - 1000) }).where('token_hash', '=', createHash('sha256').update(token).digest('hex')).execute());
      suite.rampart = await startRampart({ env: authEnv(suite.target), args: WITH_WORKER });
      expectProblem(await postJson(suite.rampart, '/v1/auth/password/reset', { token, password: NEW_PASSWORD }), 400, 'invalid-reset-token');
    });

    it('never writes a reset token or a password to the log', async () => {
      const { token } = await forgotAndMail('logs');
      await postJson(suite.rampart, '/v1/auth/password/reset', { token, password: NEW_PASSWORD });
      const stdout = suite.rampart.stdout();
      for (const secret of [...tokensSeen, NEW_PASSWORD, PASSWORD]) expect(stdout).not.toContain(secret);
    });
  });

  // As in production, where web and worker are separate processes: the web process's answer
  // is what a client times; the worker's mail work (more for a known account) is elsewhere.
  describe.skipIf(!factory.available)('a web process without a worker', () => {
    const web = rampartOnFreshDatabase(factory, {}, ['serve']);

    it('answers an existing and an unknown address in the same time, the next request included (paired median within 20 %): the request path and what it leaves behind do the same work', async () => {
      const rounds = 80;
      const accounts: string[] = [];
      for (let i = 0; i < rounds; i++) {
        const email = uniqueEmail('forgot-timing');
        await signUp(web.rampart, email);
        accounts.push(email);
      }
      // A probe and the request right after it, timed together: work the probe leaves behind
      // once answered (a token written, a mail sent, for a real account only) delays the next
      // request on the same process, which an attacker can time as easily as the probe.
      const follower = uniqueEmail('forgot-follower');
      const timed = async (email: string) => {
        const start = performance.now();
        const res = await postJson(web.rampart, '/v1/auth/password/forgot', { email });
        const next = await postJson(web.rampart, '/v1/auth/password/forgot', { email: follower });
        const elapsed = performance.now() - start;
        expect([res.status, next.status]).toEqual([202, 202]);
        // What is left over settles before the next measurement, so each carries its own.
        await new Promise((resolve) => setTimeout(resolve, 20));
        return elapsed;
      };
      for (let i = 0; i < 5; i++) await timed(uniqueEmail('forgot-warm-up'));
      const unknownMs: number[] = [];
      const knownMs: number[] = [];
      for (let i = 0; i < rounds; i++) {
        // Alternating which goes first cancels drift in the machine's load.
        const unknown = () => timed(uniqueEmail('forgot-nobody')).then((ms) => unknownMs.push(ms));
        const known = () => timed(accounts[i]!).then((ms) => knownMs.push(ms));
        if (i % 2 === 0) { await unknown(); await known(); } else { await known(); await unknown(); }
      }
      // Each pair ran back to back, so its ratio cancels the machine's load at that moment;
      // the median ignores the scheduling hiccups of other test files sharing the cores.
      const ratios = unknownMs.map((ms, i) => ms / knownMs[i]!).sort((a, b) => a - b);
      const mid = Math.floor(ratios.length / 2);
      const typical = (ratios[mid - 1]! + ratios[mid]!) / 2;
      expect(typical, `median unknown/known ratio of ${rounds} pairs`).toBeGreaterThan(0.8);
      expect(typical, `median unknown/known ratio of ${rounds} pairs`).toBeLessThan(1.25);
      // The build before this check (f8bde8f: a token and a mail for real accounts only, after
      // the answer) gave 0.74 and 0.78 on an idle machine.
    }, 120_000);

    it('does the same work for a known and an unknown address: one job each, no lookup result written until a worker runs it', async () => {
      const target = await factory.create();
      try {
        let rampart = await startRampart({ env: authEnv(target), args: ['serve'] });
        const known = uniqueEmail('deferred-known');
        await signUp(rampart, known);
        const unknown = uniqueEmail('deferred-unknown');
        const answers = [await postJson(rampart, '/v1/auth/password/forgot', { email: known }), await postJson(rampart, '/v1/auth/password/forgot', { email: unknown })];
        expect(answers.map((a) => a.status)).toEqual([202, 202]);
        await rampart.stop();
        const written = await withDatabase(target, async (db) => ({
          jobs: await db.selectFrom('jobs').select(['type', 'payload']).where('type', 'like', 'auth.%').execute(),
          resets: await db.selectFrom('password_resets').select('id').execute(),
          audited: await db.selectFrom('audit_events').select('action').where('action', 'like', 'auth.password_reset%').execute(),
        }));
        expect(written.jobs.map((j) => j.type)).toEqual(['auth.password-reset-mail', 'auth.password-reset-mail']);
        expect(JSON.stringify(written.jobs).toLowerCase()).not.toContain('deferred-');
        expect(written.resets).toEqual([]);
        expect(written.audited).toEqual([]);

        // A worker then mails the known address, and only it.
        rampart = await startRampart({ env: authEnv(target), args: WITH_WORKER });
        try {
          const [mail] = await mailedTo(target.dataDir, known);
          expect(mail!.subject).toBe('Reset your Rampart password');
          // Both jobs done: the unknown address's had every chance to mail.
          const completed = () => rampart.logs.filter((l) => l.msg === 'job completed' && l.job_type === 'auth.password-reset-mail').length;
          for (let waited = 0; completed() < 2 && waited < 15_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
          expect(completed()).toBe(2);
          const names = await readdir(join(target.dataDir, 'outbox'));
          const recipients = await Promise.all(names.map(async (name) => (JSON.parse(await readFile(join(target.dataDir, 'outbox', name), 'utf8')) as { to: string }).to));
          expect(recipients).toEqual([known]);
        } finally {
          await rampart.stop();
        }
      } finally {
        await target.cleanup();
      }
    }, 120_000);
  });
});
