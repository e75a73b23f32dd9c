import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpProblem } from '../../platform/http/problem.js';
import { databaseTargets, freshDatabasePerTest } from '../../../test/support/databases.js';
import { testIdentity } from '../../../test/support/identity.js';
import type { Identity } from './identity.js';
import { logIn } from './login.js';
import { requestSignup, sendSignupMail, verifySignup } from './signup-verification.js';
import { signUp } from './signup.js';

const context = { ip: '203.0.113.7', userAgent: 'vitest', correlationId: 'corr-signup-test' };
const password = 'a sufficiently long passphrase';
const job = { correlationId: context.correlationId, logger: pino({ level: 'silent' }) };

describe.each(databaseTargets())('sign-up with address confirmation ($name)', (factory) => {
  const fresh = freshDatabasePerTest(factory);
  let outboxRoot: string | undefined;
  afterEach(async () => {
    if (outboxRoot) await rm(outboxRoot, { recursive: true, force: true });
  });

  async function setUp(): Promise<Identity> {
    outboxRoot = await mkdtemp(join(tmpdir(), 'rampart-signup-'));
    return testIdentity(fresh.handle, { outboxRoot, signupEmailVerification: 'required' });
  }
  async function mails(): Promise<Array<{ to: string; subject: string; text: string }>> {
    const directory = join(outboxRoot!, 'outbox');
    const names = (await readdir(directory).catch(() => [] as string[])).sort();
    return Promise.all(names.map(async (name) => JSON.parse(await readFile(join(directory, name), 'utf8'))));
  }
  /** The request, then what the worker does with its job. */
  async function signUpAndMail(identity: Identity, email: string, withPassword = password): Promise<void> {
    await requestSignup(identity, email, withPassword, context);
    const jobs = await identity.db.selectFrom('jobs').select('payload').where('type', '=', 'auth.signup-mail').orderBy('created_at', 'desc').execute();
    await sendSignupMail(identity, jobs[0]!.payload, job);
  }
  const tokenIn = (text: string) => /"token":"([A-Za-z0-9_-]+)"/.exec(text)![1]!;

  it('defaults to required in production and off in development', async () => {
    expect((await testIdentity(fresh.handle, { env: 'production' })).signupVerification).toBe('required');
    expect((await testIdentity(fresh.handle, { env: 'development' })).signupVerification).toBe('off');
    expect((await testIdentity(fresh.handle, { env: 'production', signupEmailVerification: 'off' })).signupVerification).toBe('off');
  });

  it('keeps only hashes and ciphertext at rest, and creates no account until the token comes back, once', async () => {
    const identity = await setUp();
    await signUpAndMail(identity, 'New.Person@example.com');
    const [mail] = await mails();
    expect(mail).toMatchObject({ to: 'New.Person@example.com', subject: 'Confirm your Rampart sign-up' });
    const token = tokenIn(mail!.text);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    const rows = await identity.db.selectFrom('signup_verifications').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.token_hash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(JSON.stringify(rows)).not.toContain(token);
    expect(JSON.stringify(rows).toLowerCase()).not.toContain('new.person');
    const jobs = await identity.db.selectFrom('jobs').select('payload').execute();
    expect(JSON.stringify(jobs).toLowerCase()).not.toContain('new.person');

    expect(await identity.db.selectFrom('users').select('id').execute()).toEqual([]);
    await expect(logIn(identity, 'new.person@example.com', password, context)).rejects.toSatisfy((e) => e instanceof HttpProblem && e.slug === 'invalid-credentials');

    const user = await verifySignup(identity, token, context);
    expect(user).toMatchObject({ email: 'New.Person@example.com', role: 'admin' });
    expect(await logIn(identity, 'new.person@example.com', password, context)).toHaveProperty('access_token');
    await expect(verifySignup(identity, token, context)).rejects.toSatisfy((e) => e instanceof HttpProblem && e.status === 400 && e.slug === 'invalid-verification-token');
  });

  it('refuses an expired token', async () => {
    const identity = await setUp();
    await signUpAndMail(identity, 'late@example.com');
    const token = tokenIn((await mails())[0]!.text);
    await expect(verifySignup(identity, token, context, new Date(Date.now() + 25 * 3600_000))).rejects.toSatisfy((e) => e instanceof HttpProblem && e.slug === 'invalid-verification-token');
    expect(await identity.db.selectFrom('users').select('id').execute()).toEqual([]);
  });

  it('mails the owner of a taken address a note, keeps nothing of the attempt and changes nothing', async () => {
    const identity = await setUp();
    const owner = await signUp(identity, 'owner@example.com', password, context);
    await signUpAndMail(identity, 'OWNER@example.com', 'an attacker chosen passphrase');
    const [note] = await mails();
    expect(note).toMatchObject({ to: 'owner@example.com', subject: 'Someone tried to sign up to Rampart with your address' });
    expect(note!.text).not.toMatch(/"token"/);
    expect(await identity.db.selectFrom('signup_verifications').selectAll().execute()).toEqual([]);
    expect(await logIn(identity, 'owner@example.com', password, context)).toHaveProperty('access_token');
    await expect(logIn(identity, 'owner@example.com', 'an attacker chosen passphrase', context)).rejects.toBeInstanceOf(HttpProblem);
    expect((await identity.db.selectFrom('users').select('id').execute()).map((u) => u.id)).toEqual([owner.id]);
  });

  it('drops the other pending sign-ups of an address once one is confirmed: their tokens answer 400', async () => {
    const identity = await setUp();
    await signUpAndMail(identity, 'twice@example.com');
    await signUpAndMail(identity, 'twice@example.com');
    const [first, second] = (await mails()).map((m) => tokenIn(m.text));
    await verifySignup(identity, second!, context);
    await expect(verifySignup(identity, first!, context)).rejects.toSatisfy((e) => e instanceof HttpProblem && e.status === 400 && e.slug === 'invalid-verification-token');
    expect(await identity.db.selectFrom('signup_verifications').select('id').where('used_at', 'is', null).execute()).toEqual([]);
  });
});
