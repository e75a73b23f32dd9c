import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpProblem } from '../../platform/http/problem.js';
import { databaseTargets, freshDatabasePerTest } from '../../../test/support/databases.js';
import { testIdentity } from '../../../test/support/identity.js';
import type { Identity, TokenPair } from './identity.js';
import { logIn } from './login.js';
import { hashPasswordResetToken, passwordResetMailPayload, sendPasswordResetMail } from './password-forgot.js';
import { resetPassword } from './password-reset.js';
import { signUp } from './signup.js';

const context = { ip: '203.0.113.9', userAgent: 'vitest', correlationId: 'corr-reset-test' };
const password = 'a sufficiently long passphrase';
const newPassword = 'another rather long passphrase';

/** What the worker does with the job a "forgot password" request enqueues. */
const requestPasswordReset = (identity: Identity, email: string, asked: typeof context) =>
  sendPasswordResetMail(identity, passwordResetMailPayload(identity.emails, email, asked), { correlationId: asked.correlationId });

describe.each(databaseTargets())('password reset ($name)', (factory) => {
  const fresh = freshDatabasePerTest(factory);
  let outboxRoot: string | undefined;
  afterEach(async () => {
    if (outboxRoot) await rm(outboxRoot, { recursive: true, force: true });
  });

  async function setUp(): Promise<Identity> {
    outboxRoot = await mkdtemp(join(tmpdir(), 'rampart-reset-'));
    const identity = await testIdentity(fresh.handle, { outboxRoot });
    await signUp(identity, 'reset@example.com', password, context);
    return identity;
  }

  async function mailedTokens(): Promise<string[]> {
    const directory = join(outboxRoot!, 'outbox');
    const names = await readdir(directory).catch(() => []);
    const messages = await Promise.all(names.sort().map(async (name) => JSON.parse(await readFile(join(directory, name), 'utf8')) as { text: string }));
    return messages.map((m) => /"token":"([A-Za-z0-9_-]+)"/.exec(m.text)![1]!);
  }

  const refused = (promise: Promise<unknown>) => expect(promise).rejects.toSatisfy((e) => e instanceof HttpProblem && e.status === 400 && e.slug === 'invalid-reset-token');

  it('mails a 256-bit token that is stored only as its SHA-256', async () => {
    const identity = await setUp();
    await requestPasswordReset(identity, 'RESET@example.com', context);
    const [token] = await mailedTokens();
    expect(Buffer.from(token!, 'base64url')).toHaveLength(32);
    const rows = await identity.db.selectFrom('password_resets').select('token_hash').execute();
    expect(rows).toEqual([{ token_hash: hashPasswordResetToken(token!) }]);
  });

  it('mails nothing for an unknown address', async () => {
    const identity = await setUp();
    await requestPasswordReset(identity, 'nobody@example.com', context);
    expect(await mailedTokens()).toEqual([]);
  });

  it('changes the password once, revokes every session and burns older links too', async () => {
    const identity = await setUp();
    const session = (await logIn(identity, 'reset@example.com', password, context)) as TokenPair;
    await requestPasswordReset(identity, 'reset@example.com', context);
    await requestPasswordReset(identity, 'reset@example.com', context);
    const [older, newer] = await mailedTokens();

    await resetPassword(identity, newer!, newPassword, context);

    await expect(logIn(identity, 'reset@example.com', password, context)).rejects.toBeInstanceOf(HttpProblem);
    expect(await logIn(identity, 'reset@example.com', newPassword, context)).toHaveProperty('access_token');
    const sid = JSON.parse(Buffer.from(session.access_token.split('.')[1]!, 'base64url').toString()).sid as string;
    expect(await identity.revocations.isRevoked(sid)).toBe(true);
    await refused(resetPassword(identity, newer!, 'yet another long passphrase', context));
    await refused(resetPassword(identity, older!, 'yet another long passphrase', context));
  });

  it('refuses a token after 30 minutes', async () => {
    const identity = await setUp();
    await requestPasswordReset(identity, 'reset@example.com', context);
    const [token] = await mailedTokens();
    await refused(resetPassword(identity, token!, newPassword, context, new Date(Date.now() + 30 * 60_000 + 1000)));
  });

  it('refuses a weak password with 422 and leaves the token usable', async () => {
    const identity = await setUp();
    await requestPasswordReset(identity, 'reset@example.com', context);
    const [token] = await mailedTokens();
    await expect(resetPassword(identity, token!, 'short', context)).rejects.toSatisfy((e) => e instanceof HttpProblem && e.status === 422 && e.slug === 'weak-password');
    await resetPassword(identity, token!, newPassword, context);
  });

  it('audits requests, completions and failures', async () => {
    const identity = await setUp();
    await requestPasswordReset(identity, 'reset@example.com', context);
    const [token] = await mailedTokens();
    await resetPassword(identity, token!, newPassword, context);
    await refused(resetPassword(identity, token!, newPassword, context));
    const actions = await identity.db.selectFrom('audit_events').select('action').where('action', 'like', 'auth.password_reset.%').orderBy('id').execute();
    expect(actions.map((a) => a.action)).toEqual(['auth.password_reset.requested', 'auth.password_reset.completed', 'auth.password_reset.failed']);
  });
});
