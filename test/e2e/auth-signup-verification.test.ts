import { describe, expect, it } from 'vitest';
import { logIn, mailedTo, PASSWORD, postJson, rampartOnFreshDatabase, tokenInMail, uniqueEmail } from '../support/auth-client.js';
import { databaseTargets } from '../support/databases.js';
import type { HttpResponse } from '../support/rampart-process.js';

/** The answer without what differs per request anyway. */
const shape = (res: HttpResponse) => {
  const { correlation_id: _, ...body } = res.json();
  return { status: res.status, contentType: res.headers['content-type'], body };
};

describe.each(databaseTargets())('sign-up with SIGNUP_EMAIL_VERIFICATION=required on $name', (factory) => {
  describe.skipIf(!factory.available)('address confirmation', () => {
    const suite = rampartOnFreshDatabase(factory, { SIGNUP_EMAIL_VERIFICATION: 'required' }, ['serve', '--with-worker']);

    const mailTo = (email: string, count = 1) => mailedTo(suite.target.dataDir, email, count);
    const tokenIn = tokenInMail;
    const signUp = (email: string, password = PASSWORD) => postJson(suite.rampart, '/v1/auth/signup', { email, password });
    const verify = (token: string) => postJson(suite.rampart, '/v1/auth/signup/verify', { token });

    it('answers a new and an existing address alike, and mails a token to the one and a note to the other', async () => {
      const existing = uniqueEmail('taken');
      await signUp(existing);
      const [created] = await mailTo(existing);
      expect((await verify(tokenIn(created!))).status).toBe(201);

      const fresh = uniqueEmail('fresh');
      const forNew = await signUp(fresh);
      const forTaken = await signUp(existing.toUpperCase(), 'another long passphrase');
      expect(forNew.status, forNew.body).toBe(202);
      expect(shape(forTaken)).toEqual(shape(forNew));
      expect(forNew.json()).toMatchObject({ status: 'accepted' });

      const [toNew] = await mailTo(fresh);
      expect(toNew!.subject).toBe('Confirm your Rampart sign-up');
      expect(toNew!.text).toContain('/v1/auth/signup/verify');
      const notes = await mailTo(existing, 2);
      expect(notes.at(-1)!.subject).toBe('Someone tried to sign up to Rampart with your address');
      expect(notes.at(-1)!.text).not.toContain('"token"');
      // The attempt changed nothing: the owner's password still works, the attempt's does not.
      expect((await logIn(suite.rampart, existing)).token_type).toBe('Bearer');
      expect((await postJson(suite.rampart, '/v1/auth/login', { email: existing, password: 'another long passphrase' })).status).toBe(401);
    });

    it('keeps an unconfirmed sign-up from signing in (the unknown-account answer) until its token comes back, once', async () => {
      const email = uniqueEmail('unconfirmed');
      expect((await signUp(email)).status).toBe(202);
      const [mail] = await mailTo(email);
      const before = await postJson(suite.rampart, '/v1/auth/login', { email, password: PASSWORD });
      const unknown = await postJson(suite.rampart, '/v1/auth/login', { email: uniqueEmail('nobody'), password: PASSWORD });
      expect(before.status).toBe(401);
      expect(shape(before)).toEqual(shape(unknown));

      const confirmed = await verify(tokenIn(mail!));
      expect(confirmed.status, confirmed.body).toBe(201);
      expect(confirmed.json()).toMatchObject({ email, role: 'admin', id: expect.any(String), tenant_id: expect.any(String) });
      expect((await logIn(suite.rampart, email)).token_type).toBe('Bearer');

      const again = await verify(tokenIn(mail!));
      expect(again.status).toBe(400);
      expect(again.json()).toMatchObject({ type: '/problems/invalid-verification-token' });
    });

    it('refuses an unknown token (400), a malformed body (422) and a weak password before anything is mailed', async () => {
      expect((await verify('A'.repeat(43))).json()).toMatchObject({ status: 400, type: '/problems/invalid-verification-token' });
      expect((await postJson(suite.rampart, '/v1/auth/signup/verify', { token: '' })).status).toBe(422);
      expect((await postJson(suite.rampart, '/v1/auth/signup/verify', { token: 'x', extra: true })).status).toBe(422);
      const weak = await signUp(uniqueEmail('weak'), 'short');
      expect(weak.json()).toMatchObject({ status: 422, type: '/problems/weak-password' });
    });

    it('never writes a token or a password to the log', async () => {
      const email = uniqueEmail('logs');
      await signUp(email);
      const token = tokenIn((await mailTo(email))[0]!);
      await verify(token);
      expect(suite.rampart.stdout()).not.toContain(token);
      expect(suite.rampart.stdout()).not.toContain(PASSWORD);
    });
  });
});
