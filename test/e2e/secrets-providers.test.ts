import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeAws, type FakeAws } from '../support/fake-aws.js';
import { runCli, send, startRampart, type RampartProcess } from '../support/rampart-process.js';

const fieldKey = (kid: string) => `${kid}:${randomBytes(32).toString('base64url')}`;
const pepper = () => randomBytes(32).toString('base64url');
const PATH = '/rampart/development/';

interface Readiness {
  status: string;
  secrets: { ok: boolean; providers: Array<{ name: string; status: string; last_refresh_age_s: number | null }> };
}

const readiness = async (rampart: RampartProcess) => {
  const res = await rampart.request('/readiness');
  return { status: res.status, body: res.json<Readiness>() };
};

async function until<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('secrets from SSM Parameter Store (real SDK against a local AWS JSON endpoint)', () => {
  let aws: FakeAws;
  let rampart: RampartProcess | undefined;
  let values: { appSecret: string; fieldKeys: string; pepper: string };
  beforeEach(async () => {
    aws = await startFakeAws({ pageSize: 4 });
    // 25 parameters that are not Rampart's come first, so the secrets sit on the last page.
    for (let i = 0; i < 25; i++) aws.putParameter(`${PATH}another-service/token_${String(i).padStart(2, '0')}`, `other-${i}`);
    values = { appSecret: `ssm-app-secret-${randomBytes(16).toString('hex')}`, fieldKeys: fieldKey('ssm1'), pepper: pepper() };
    aws.putParameter(`${PATH}zz/app_secret`, values.appSecret);
    aws.putParameter(`${PATH}zz/field_encryption_keys`, values.fieldKeys);
    aws.putParameter(`${PATH}zz/api_key_pepper`, values.pepper);
  });
  afterEach(async () => {
    await rampart?.stop();
    rampart = undefined;
    await aws.close();
  });

  const env = (extra: Record<string, string> = {}) => ({ ...aws.env, SECRETS_PROVIDERS: 'env,ssm', ...extra });

  it('starts through throttling, reads every page, and picks up a rotation at the next refresh', async () => {
    aws.throttleNext(3);
    rampart = await startRampart({ env: env({ SECRETS_REFRESH_S: '1' }) });
    // 28 parameters at 4 a page = 7 pages, plus the 3 throttled calls.
    expect(aws.calls['AmazonSSM.GetParametersByPath']).toBeGreaterThanOrEqual(10);
    const ready = await readiness(rampart);
    expect(ready.status).toBe(200);
    expect(ready.body.secrets.providers.map((p) => [p.name, p.status])).toEqual([['env', 'ok'], ['ssm', 'ok'], ['generated', 'ok']]);

    const audit = await runCli(['secrets', 'audit', '--json'], env());
    const report = JSON.parse(audit.stdout) as { secrets: Array<{ name: string; source: string; version: string }> };
    expect(report.secrets.find((s) => s.name === 'APP_SECRET')).toMatchObject({ source: 'ssm', version: '1' });

    const rotated = await runCli(['secrets', 'rotate', 'field-encryption-key'], env());
    expect(rotated.code, rotated.stderr).toBe(0);
    const [, newKid] = /new kid (\S+);/.exec(rotated.stdout) ?? [];
    expect(rotated.stdout).toMatch(/FIELD_ENCRYPTION_KEYS in ssm \(version 2\), new kid k\d{8}T\d{6}-[0-9a-f]{6}; ssm1 still decrypt/);
    expect(aws.parameter(`${PATH}zz/field_encryption_keys`)!.version).toBe(2);
    expect(aws.parameter(`${PATH}zz/field_encryption_keys`)!.value.endsWith(values.fieldKeys)).toBe(true);

    const replaced = await rampart.waitForLog((l) => l.msg === 'field-encryption keys replaced', 5_000);
    expect(replaced).toMatchObject({ current_kid: newKid, kids: [newKid, 'ssm1'] });
  });

  it('re-reads the chain on SIGHUP', async () => {
    rampart = await startRampart({ env: env({ SECRETS_REFRESH_S: '0' }) });
    const callsBefore = aws.calls['AmazonSSM.GetParametersByPath']!;
    aws.putParameter(`${PATH}zz/api_key_pepper`, `${pepper()},${values.pepper}`);
    rampart.child.kill('SIGHUP');
    const changed = await rampart.waitForLog((l) => l.msg === 'secrets changed', 5_000);
    expect(changed.changed).toEqual(['API_KEY_PEPPER']);
    expect(aws.calls['AmazonSSM.GetParametersByPath']).toBeGreaterThan(callsBefore);
  });

  it('keeps the last values while SSM is down at refresh (readiness degraded, not 503), and recovers by itself', async () => {
    rampart = await startRampart({ env: env({ SECRETS_REFRESH_S: '1' }) });
    aws.setDown(true);
    await rampart.waitForLog((l) => l.msg === 'secrets provider could not be read; keeping its last values' && l.provider === 'ssm', 5_000);
    const degraded = await until(() => readiness(rampart!), (r) => r.body.status === 'degraded');
    expect(degraded.status).toBe(200);
    expect(degraded.body.status).toBe('degraded');
    expect(degraded.body.secrets.providers.find((p) => p.name === 'ssm')!.status).toBe('failing');
    expect((await rampart.request('/health')).status).toBe(200);
    expect(rampart.child.exitCode).toBeNull();

    aws.setDown(false);
    const recovered = await until(() => readiness(rampart!), (r) => r.body.status === 'ok');
    expect(recovered.body.secrets.providers.find((p) => p.name === 'ssm')).toMatchObject({ status: 'ok' });
    expect(recovered.body.secrets.providers.find((p) => p.name === 'ssm')!.last_refresh_age_s).toBeLessThanOrEqual(2);
    // Readiness names providers and ages only.
    expect(JSON.stringify(recovered.body)).not.toContain(values.appSecret);
    const metrics = (await send(`${rampart.metricsUrl}`)).body;
    const lastSuccess = Number(/^secrets_provider_last_success_timestamp_seconds\{provider="ssm"\} (\S+)$/m.exec(metrics)?.[1]);
    expect(Date.now() / 1000 - lastSuccess).toBeLessThan(5);
    expect(metrics).not.toContain(values.appSecret);
  });

  it('audit flags a secret older than its policy and exits 1, printing versions and ages only', async () => {
    aws.putParameter(`${PATH}zz/database_password`, 'an-old-database-password', 'SecureString', new Date(Date.now() - 120 * 86_400_000));
    const audit = await runCli(['secrets', 'audit', '--json'], env());
    expect(audit.code).toBe(1);
    const report = JSON.parse(audit.stdout) as { overdue: string[]; secrets: Array<{ name: string; source: string; age_days: number; policy_days: number; overdue: boolean }> };
    expect(report.overdue).toEqual(['DATABASE_PASSWORD']);
    expect(report.secrets.find((s) => s.name === 'DATABASE_PASSWORD')).toMatchObject({ source: 'ssm', age_days: 120, policy_days: 90, overdue: true });
    expect(report.secrets.find((s) => s.name === 'APP_SECRET')).toMatchObject({ source: 'ssm', overdue: false });
    const relaxed = await runCli(['secrets', 'audit'], env({ SECRET_MAX_AGE_DATABASE_PASSWORD_DAYS: '365' }));
    expect(relaxed.code).toBe(0);
    expect(relaxed.stdout).toMatch(/^DATABASE_PASSWORD\s+ssm\s+1\s+\S+\s+120 d\s+365 d\s+ok$/m);
    for (const output of [audit.stdout, audit.stderr, relaxed.stdout, relaxed.stderr]) {
      for (const value of ['an-old-database-password', values.appSecret, values.pepper, values.fieldKeys.split(':')[1]!]) expect(output).not.toContain(value);
    }
  });

  it('refuses to start in production when SSM is down, naming the provider', async () => {
    aws.setDown(true);
    const { code, stderr } = await runCli(['serve'], { ...aws.env, RAMPART_ENV: 'production', SECRETS_PROVIDERS: 'ssm', SECRETS_LOAD_ATTEMPTS: '2' });
    expect(code).toBe(3);
    const lines = stderr.trim().split('\n').filter((l) => !/NodeVersionSupportWarning|node >=22|upgrade to node|a\.co\/|trace-warnings|^$|versions published|will require|To continue|security updates|More information/.test(l));
    expect(lines).toEqual(['rampart: refusing to start in production: secrets could not be loaded:', expect.stringMatching(/^ {2}secrets provider ssm is unavailable \(\w+\)$/)]);
  });

  it('refuses to start in production when a required secret is in no provider, naming it', async () => {
    aws.putParameter('/rampart/production/app_secret', values.appSecret);
    const { code, stderr } = await runCli(['serve'], { ...aws.env, RAMPART_ENV: 'production', SECRETS_PROVIDERS: 'ssm' });
    expect(code).toBe(3);
    expect(stderr).toMatch(/^ {2}FIELD_ENCRYPTION_KEYS is not set: generated secrets are for development only$/m);
    expect(stderr).toMatch(/^ {2}API_KEY_PEPPER is not set: generated secrets are for development only$/m);
    expect(stderr).not.toMatch(/APP_SECRET is not set/);
    expect(stderr).not.toContain(values.appSecret);
  });
});

describe('secrets from Secrets Manager (real SDK against a local AWS JSON endpoint)', () => {
  let aws: FakeAws;
  let rampart: RampartProcess | undefined;
  beforeEach(async () => {
    aws = await startFakeAws();
  });
  afterEach(async () => {
    await rampart?.stop();
    rampart = undefined;
    await aws.close();
  });

  it('expands a JSON secret, rotates the pepper as a new AWSCURRENT version, and a SIGHUP applies it', async () => {
    const firstPepper = pepper();
    aws.putSecret('rampart/development', { APP_SECRET: `sm-app-secret-${randomBytes(16).toString('hex')}`, FIELD_ENCRYPTION_KEYS: fieldKey('sm1'), API_KEY_PEPPER: firstPepper });
    const env = { ...aws.env, SECRETS_PROVIDERS: 'secretsmanager', SECRETS_MANAGER_IDS: 'rampart/development', SECRETS_REFRESH_S: '0' };
    rampart = await startRampart({ env });
    const rotated = await runCli(['secrets', 'rotate', 'api-key-pepper'], env);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout).toMatch(/^rotated api-key-pepper: API_KEY_PEPPER in secretsmanager \(version [0-9a-f-]{36}\), now 2 pepper\(s\)/);
    const current = JSON.parse(aws.secret('rampart/development')!) as Record<string, string>;
    expect(current.API_KEY_PEPPER!.split(',')[1]).toBe(firstPepper);
    expect(JSON.parse(aws.secret('rampart/development', 'AWSPREVIOUS')!).API_KEY_PEPPER).toBe(firstPepper);
    expect(rotated.stdout + rotated.stderr).not.toContain(firstPepper);
    expect(rotated.stdout + rotated.stderr).not.toContain(current.API_KEY_PEPPER!.split(',')[0]);

    rampart.child.kill('SIGHUP');
    const changed = await rampart.waitForLog((l) => l.msg === 'secrets changed', 5_000);
    expect(changed.changed).toEqual(['API_KEY_PEPPER']);
  });
});
