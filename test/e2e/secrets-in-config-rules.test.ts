import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startFakeAws, type FakeAws } from '../support/fake-aws.js';
import { runCli, startRampart, type RampartProcess } from '../support/rampart-process.js';

// Each case starts the built CLI, some of them a server too: generous on a loaded machine.
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

// Every check on a secret's value must see the value the secrets chain supplies, wherever it
// lives: the environment, a file under SECRETS_DIR, SSM Parameter Store or Secrets Manager.

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const SSM_PATH = '/rampart/development/';
const SM_ID = 'rampart/development';

type ProviderName = 'env' | 'file' | 'ssm' | 'secretsmanager';
const PROVIDERS: ProviderName[] = ['env', 'file', 'ssm', 'secretsmanager'];

let aws: FakeAws;
const secretsDirs: string[] = [];
beforeAll(async () => {
  aws = await startFakeAws();
});
afterAll(async () => {
  await aws.close();
  for (const dir of secretsDirs) rmSync(dir, { recursive: true, force: true });
});

/** Environment that makes `provider` (and only it, besides the generated development secrets) hold `secrets`. */
function holding(provider: ProviderName, secrets: Record<string, string>): Record<string, string> {
  if (provider === 'env') return { SECRETS_PROVIDERS: 'env', ...secrets };
  if (provider === 'file') {
    const dir = mkdtempSync(join(tmpdir(), 'rampart-secret-files-'));
    secretsDirs.push(dir);
    for (const [key, value] of Object.entries(secrets)) writeFileSync(join(dir, key.toLowerCase()), `${value}\n`, { mode: 0o600 });
    return { SECRETS_PROVIDERS: 'file', SECRETS_DIR: dir };
  }
  // Each case gets its own path or secret id, so the cases never see each other's values.
  const scope = randomBytes(4).toString('hex');
  if (provider === 'ssm') {
    for (const [key, value] of Object.entries(secrets)) aws.putParameter(`${SSM_PATH}${scope}/${key.toLowerCase()}`, value);
    return { ...aws.env, SECRETS_PROVIDERS: 'ssm', SSM_PATH: `${SSM_PATH}${scope}/` };
  }
  aws.putSecret(`${SM_ID}/${scope}`, secrets);
  return { ...aws.env, SECRETS_PROVIDERS: 'secretsmanager', SECRETS_MANAGER_IDS: `${SM_ID}/${scope}` };
}

describe.each(PROVIDERS)('a secret held by the %s provider meets the config rules on it', (provider) => {
  let rampart: RampartProcess | undefined;
  afterEach(async () => {
    await rampart?.stop();
    rampart = undefined;
  });

  it('DOCS_USER in the environment and DOCS_PASSWORD in the provider: starts, and the docs take that password', async () => {
    const password = `docs-${randomBytes(12).toString('hex')}`;
    const env = { DOCS_USER: 'ops', ...holding(provider, { DOCS_PASSWORD: password }) };
    const checked = await runCli(['config'], env);
    expect(checked.stderr).not.toMatch(/DOCS_PASSWORD: required/);
    expect(checked.code, checked.stderr).toBe(0);

    rampart = await startRampart({ env });
    expect((await rampart.request('/openapi.json', { headers: { authorization: basic('ops', password) } })).status).toBe(200);
    expect((await rampart.request('/openapi.json', { headers: { authorization: basic('ops', 'not-it') } })).status).toBe(401);
    expect(rampart.stdout()).not.toContain(password);
  });

  it('DOCS_PASSWORD in the provider without DOCS_USER is refused (exit 2), naming DOCS_USER and not the value', async () => {
    const password = `docs-${randomBytes(12).toString('hex')}`;
    const { code, stderr, stdout } = await runCli(['config'], holding(provider, { DOCS_PASSWORD: password }));
    expect(code).toBe(2);
    expect(stderr).toMatch(/^ {2}DOCS_USER: required when DOCS_PASSWORD is set$/m);
    expect(stderr + stdout).not.toContain(password);
  });

  it('a malformed APP_SECRET, FIELD_ENCRYPTION_KEYS and API_KEY_PEPPER from the provider are refused (exit 2) without quoting them', async () => {
    const values = { APP_SECRET: 'short-app-secret-value', FIELD_ENCRYPTION_KEYS: 'k1:not-thirty-two-bytes', API_KEY_PEPPER: 'short-pepper-value' };
    const { code, stderr, stdout } = await runCli(['config'], holding(provider, values));
    expect(code).toBe(2);
    expect(stderr).toMatch(/^ {2}APP_SECRET: must be at least 32 characters$/m);
    expect(stderr).toMatch(/^ {2}FIELD_ENCRYPTION_KEYS: key k1 is not 32 bytes of base64url$/m);
    expect(stderr).toMatch(/^ {2}API_KEY_PEPPER: each pepper must be at least 32 characters$/m);
    for (const value of Object.values(values)) expect(stderr + stdout).not.toContain(value.split(':').at(-1));
  });
});

describe('a rotated DOCS_PASSWORD takes effect without a restart', () => {
  let rampart: RampartProcess | undefined;
  afterEach(async () => {
    await rampart?.stop();
    rampart = undefined;
  });

  it('file provider + SIGHUP: the old password gets 401, the new one 200', async () => {
    const oldPassword = `old-${randomBytes(12).toString('hex')}`;
    const newPassword = `new-${randomBytes(12).toString('hex')}`;
    const env: Record<string, string> = { DOCS_USER: 'ops', SECRETS_REFRESH_S: '0', ...holding('file', { DOCS_PASSWORD: oldPassword }) };
    rampart = await startRampart({ env });
    const docs = (password: string) => rampart!.request('/openapi.json', { headers: { authorization: basic('ops', password) } });
    expect((await docs(oldPassword)).status).toBe(200);
    expect((await docs(newPassword)).status).toBe(401);

    writeFileSync(join(env.SECRETS_DIR!, 'docs_password'), `${newPassword}\n`);
    rampart.child.kill('SIGHUP');
    const changed = await rampart.waitForLog((l) => l.msg === 'secrets changed', 10_000);
    expect(changed.changed).toEqual(['DOCS_PASSWORD']);
    await rampart.waitForLog((l) => l.msg === 'secrets refreshed', 10_000);

    expect((await docs(oldPassword)).status).toBe(401);
    expect((await docs(newPassword)).status).toBe(200);
    // Live, so no "takes effect at the next restart" warning for it.
    expect(rampart.logs.some((l) => l.msg.includes('read at start only') && JSON.stringify(l.changed).includes('DOCS_PASSWORD'))).toBe(false);
    for (const value of [oldPassword, newPassword]) expect(rampart.stdout() + rampart.stderr()).not.toContain(value);
  });

  it('a DOCS_PASSWORD removed from the chain refuses everyone rather than opening the docs', async () => {
    const password = `gone-${randomBytes(12).toString('hex')}`;
    const env: Record<string, string> = { DOCS_USER: 'ops', SECRETS_REFRESH_S: '0', ...holding('file', { DOCS_PASSWORD: password }) };
    rampart = await startRampart({ env });
    rmSync(join(env.SECRETS_DIR!, 'docs_password'));
    rampart.child.kill('SIGHUP');
    await rampart.waitForLog((l) => l.msg === 'secrets refreshed', 10_000);
    expect((await rampart.request('/openapi.json')).status).toBe(401);
    expect((await rampart.request('/openapi.json', { headers: { authorization: basic('ops', password) } })).status).toBe(401);
  });
});
