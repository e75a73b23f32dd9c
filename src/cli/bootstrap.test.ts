import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliExit, resolveRuntime } from './bootstrap.js';

describe('resolveRuntime: configuration plus the secrets chain', () => {
  let dataDir: string;
  let secretsDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'rampart-boot-'));
    secretsDir = await mkdtemp(path.join(os.tmpdir(), 'rampart-boot-secrets-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
    await rm(secretsDir, { recursive: true, force: true });
  });

  it('development generates the required secrets once into a 0600 file and reuses them', async () => {
    const env = { RAMPART_DATA_DIR: dataDir, SECRETS_DIR: path.join(secretsDir, 'absent') };
    const first = await resolveRuntime(env);
    expect(first.config.generatedSecrets).toEqual(['appSecret', 'fieldEncryptionKeys', 'apiKeyPepper']);
    expect(first.config.appSecret!.length).toBeGreaterThanOrEqual(32);
    expect(first.config.fieldEncryptionKeys).toMatch(/^k\d{8}T\d{6}-[0-9a-f]{6}:[A-Za-z0-9_-]{43}$/);
    expect((await stat(path.join(dataDir, 'secrets.json'))).mode & 0o777).toBe(0o600);
    const second = await resolveRuntime(env);
    expect(second.config.appSecret).toBe(first.config.appSecret);
    expect(second.config.fieldEncryptionKeys).toBe(first.config.fieldEncryptionKeys);
  });

  it('reads a secrets.json written before step 4 (property names)', async () => {
    const legacy = randomBytes(32).toString('base64url');
    await writeFile(path.join(dataDir, 'secrets.json'), JSON.stringify({ appSecret: legacy }), { mode: 0o644 });
    const { config } = await resolveRuntime({ RAMPART_DATA_DIR: dataDir });
    expect(config.appSecret).toBe(legacy);
    expect(JSON.parse(await readFile(path.join(dataDir, 'secrets.json'), 'utf8')).FIELD_ENCRYPTION_KEYS).toBe(config.fieldEncryptionKeys);
  });

  it('takes each secret from the first provider that has it, and ignores env secrets when env is not in the chain', async () => {
    await writeFile(path.join(secretsDir, 'app_secret'), 'f'.repeat(40));
    const base = { RAMPART_DATA_DIR: dataDir, SECRETS_DIR: secretsDir, APP_SECRET: 'e'.repeat(40) };
    expect((await resolveRuntime({ ...base, SECRETS_PROVIDERS: 'env,file' })).config.appSecret).toBe('e'.repeat(40));
    expect((await resolveRuntime({ ...base, SECRETS_PROVIDERS: 'file,env' })).config.appSecret).toBe('f'.repeat(40));
    // Without `env` in the chain the DOCS_PASSWORD variable is not a source: DOCS_USER alone is refused.
    const error = await resolveRuntime({ ...base, SECRETS_PROVIDERS: 'file', DOCS_USER: 'docs', DOCS_PASSWORD: 'from-env-ignored' }).catch((e: unknown) => e);
    expect((error as CliExit).lines).toContain('  DOCS_PASSWORD: required when DOCS_USER is set');
  });

  it('validates a provider-supplied secret like an env one, without quoting it', async () => {
    await writeFile(path.join(secretsDir, 'field_encryption_keys'), 'k1:too-short-key-material');
    const error = await resolveRuntime({ RAMPART_DATA_DIR: dataDir, SECRETS_DIR: secretsDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliExit);
    expect((error as CliExit).lines.join('\n')).toMatch(/FIELD_ENCRYPTION_KEYS: key k1 is not 32 bytes of base64url/);
    expect((error as CliExit).lines.join('\n')).not.toContain('too-short-key-material');
  });

  it('rejects an unknown provider name', async () => {
    const error = await resolveRuntime({ RAMPART_DATA_DIR: dataDir, SECRETS_PROVIDERS: 'env,vault' }).catch((e: unknown) => e);
    expect((error as CliExit).lines.join('\n')).toMatch(/SECRETS_PROVIDERS: unknown provider vault/);
  });
});
