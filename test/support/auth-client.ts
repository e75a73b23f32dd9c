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
