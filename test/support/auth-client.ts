import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openDatabase, type DatabaseHandle } from '../../src/platform/db/database.js';
import { afterAll, beforeAll } from 'vitest';
import { testDatabaseOptions, type DatabaseTarget, type DatabaseTargetFactory } from './databases.js';
import { startRampart, type HttpResponse, type RampartProcess } from './rampart-process.js';

/** Environment for an e2e process with auth: a known APP_SECRET and argon2 cheap enough for 2 cores. */
export function authEnv(target: DatabaseTarget, extra: Record<string, string> = {}): Record<string, string | undefined> {
  return {
    RAMPART_DATA_DIR: target.dataDir,
    DATABASE_URL: target.url,
    APP_SECRET: E2E_APP_SECRET,
    AUTH_ARGON2_MEMORY_KIB: '1024',
    AUTH_ARGON2_TIME_COST: '1',
    ...extra,
  };
}

export const E2E_APP_SECRET = 'e2e-app-secret-0123456789abcdefghijklmnop';
export const PASSWORD = 'purple tangerine skyline';

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
}

let counter = 0;
/** A unique address per call, so tests in one process never collide. */
export const uniqueEmail = (label: string) => `${label}.${process.pid}.${Date.now()}.${counter++}@example.com`;

export function postJson(rampart: RampartProcess, path: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpResponse> {
  return rampart.request(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export async function signUp(rampart: RampartProcess, email: string, password = PASSWORD): Promise<{ id: string; tenant_id: string; role: string }> {
  const res = await postJson(rampart, '/v1/auth/signup', { email, password });
  if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${res.body}`);
  return res.json();
}

export interface OutboxMail { to: string; subject: string; text: string }

/** Mail to `email` in the outbox under `dataDir` (no SMTP_URL), polled for: the worker sends it after the answer. */
export async function mailedTo(dataDir: string, email: string, count = 1): Promise<OutboxMail[]> {
  const directory = join(dataDir, 'outbox');
  for (let attempt = 0; attempt < 300; attempt++) {
    const names = (await readdir(directory).catch(() => [] as string[])).filter((name) => name.endsWith('.json')).sort();
    const mails = (await Promise.all(names.map(async (name) => JSON.parse(await readFile(join(directory, name), 'utf8')) as OutboxMail))).filter((m) => m.to.toLowerCase() === email.toLowerCase());
    if (mails.length >= count) return mails;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no mail to ${email}`);
}

/** The token a sign-up or password-reset mail carries. */
export const tokenInMail = (mail: OutboxMail) => /"token":"([A-Za-z0-9_-]+)"/.exec(mail.text)![1]!;

/** Sign-up with SIGNUP_EMAIL_VERIFICATION=required: 202, the mailed token, then the confirmation (201). Needs a worker. */
export async function signUpConfirmed(rampart: RampartProcess, dataDir: string, email: string, password = PASSWORD): Promise<{ id: string; tenant_id: string; role: string }> {
  const asked = await postJson(rampart, '/v1/auth/signup', { email, password });
  if (asked.status !== 202) throw new Error(`signup failed: ${asked.status} ${asked.body}`);
  const [mail] = await mailedTo(dataDir, email);
  const confirmed = await postJson(rampart, '/v1/auth/signup/verify', { token: tokenInMail(mail!) });
  if (confirmed.status !== 201) throw new Error(`signup verification failed: ${confirmed.status} ${confirmed.body}`);
  return confirmed.json();
}

export async function logIn(rampart: RampartProcess, email: string, password = PASSWORD, headers: Record<string, string> = {}): Promise<TokenPair> {
  const res = await postJson(rampart, '/v1/auth/login', { email, password }, headers);
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.body}`);
  return res.json<TokenPair>();
}

/** Opens the target's database (for PGlite: only while no Rampart process holds it). */
export async function withDatabase<T>(target: DatabaseTarget, work: (db: DatabaseHandle['db']) => Promise<T>): Promise<T> {
  const handle = await openDatabase(testDatabaseOptions(target));
  try {
    return await work(handle.db);
  } finally {
    await handle.close();
  }
}

export interface RampartSuite {
  target: DatabaseTarget;
  /** Tests that restart the server assign the new process here. */
  rampart: RampartProcess;
}

/** One Rampart process on a fresh database for the surrounding describe, stopped and dropped after it. `args`: the CLI's (default `serve` with the test plugin). */
export function rampartOnFreshDatabase(factory: DatabaseTargetFactory, extraEnv: Record<string, string> = {}, args?: string[]): RampartSuite {
  const suite = {} as RampartSuite;
  beforeAll(async () => {
    suite.target = await factory.create();
    suite.rampart = await startRampart({ env: authEnv(suite.target, extraEnv), args });
  });
  afterAll(async () => {
    await suite.rampart?.stop();
    await suite.target?.cleanup();
  });
  return suite;
}
