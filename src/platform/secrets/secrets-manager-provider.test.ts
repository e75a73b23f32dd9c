import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeAws, type FakeAws } from '../../../test/support/fake-aws.js';
import { secretNameOf, secretsManagerProvider } from './secrets-manager-provider.js';

const KNOWN = new Set(['APP_SECRET', 'DOCS_PASSWORD', 'API_KEY_PEPPER', 'DATABASE_PASSWORD']);

describe('Secrets Manager provider against the AWS JSON protocol (real SDK client)', () => {
  let aws: FakeAws;
  let client: SecretsManagerClient;
  beforeEach(async () => {
    aws = await startFakeAws();
    client = new SecretsManagerClient({ endpoint: aws.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake' }, maxAttempts: 1 });
  });
  afterEach(async () => {
    client.destroy();
    await aws.close();
  });

  it('expands a JSON secret into keys and reads a plain secret under its name', async () => {
    aws.putSecret('rampart/production/core', { APP_SECRET: 'a'.repeat(40), docs_password: 'docs-pass', unrelated: 'x' });
    aws.putSecret('rampart/production/api-key-pepper', 'pepper-value');
    const loaded = await secretsManagerProvider({ ids: ['rampart/production/core', 'rampart/production/api-key-pepper'], known: KNOWN, client }).load();
    expect([...loaded.keys()].sort()).toEqual(['API_KEY_PEPPER', 'APP_SECRET', 'DOCS_PASSWORD']);
    expect(loaded.get('DOCS_PASSWORD')?.value).toBe('docs-pass');
    expect(loaded.get('API_KEY_PEPPER')?.value).toBe('pepper-value');
    expect(loaded.get('APP_SECRET')?.version).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('writes a new version that keeps the other keys of the JSON secret; the old one becomes AWSPREVIOUS', async () => {
    aws.putSecret('core', { APP_SECRET: 'a'.repeat(40), DOCS_PASSWORD: 'old' });
    const provider = secretsManagerProvider({ ids: ['core'], known: KNOWN, client });
    const before = await provider.load();
    const { version } = await provider.write!('DOCS_PASSWORD', 'new');
    expect(version).not.toBe(before.get('DOCS_PASSWORD')?.version);
    expect(JSON.parse(aws.secret('core')!)).toEqual({ APP_SECRET: 'a'.repeat(40), DOCS_PASSWORD: 'new' });
    expect(JSON.parse(aws.secret('core', 'AWSPREVIOUS')!)).toEqual({ APP_SECRET: 'a'.repeat(40), DOCS_PASSWORD: 'old' });
  });

  it('reads AWSPREVIOUS too, as the previous generation of the same keys, never as the current value', async () => {
    aws.putSecret('rampart/production/core', { DATABASE_PASSWORD: 'old-db-pass', APP_SECRET: 'a'.repeat(40) });
    aws.putSecret('rampart/production/core', { DATABASE_PASSWORD: 'new-db-pass', APP_SECRET: 'a'.repeat(40), DOCS_PASSWORD: 'docs-pass' });
    aws.putSecret('rampart/production/api-key-pepper', 'pepper-one');
    aws.putSecret('rampart/production/api-key-pepper', 'pepper-two');
    const loaded = await secretsManagerProvider({ ids: ['rampart/production/core', 'rampart/production/api-key-pepper'], known: KNOWN, client }).load();
    const password = loaded.get('DATABASE_PASSWORD')!;
    expect(password.value).toBe('new-db-pass');
    expect(password.previous).toMatchObject({ value: 'old-db-pass', stage: 'AWSPREVIOUS' });
    expect(password.previous!.version).toMatch(/^[0-9a-f-]{36}$/);
    expect(password.previous!.version).not.toBe(password.version);
    expect(loaded.get('API_KEY_PEPPER')).toMatchObject({ value: 'pepper-two', previous: { value: 'pepper-one', stage: 'AWSPREVIOUS' } });
    // A key the previous version did not have has no previous generation.
    expect(loaded.get('DOCS_PASSWORD')).toMatchObject({ value: 'docs-pass' });
    expect(loaded.get('DOCS_PASSWORD')!.previous).toBeUndefined();
    expect(aws.calls['secretsmanager.GetSecretValue']).toBe(4);
  });

  it('a secret with a single version (no AWSPREVIOUS) loads normally, without a previous generation', async () => {
    aws.putSecret('core', { DATABASE_PASSWORD: 'only-db-pass' });
    aws.putSecret('rampart/production/api-key-pepper', 'only-pepper');
    const loaded = await secretsManagerProvider({ ids: ['core', 'rampart/production/api-key-pepper'], known: KNOWN, client }).load();
    expect(loaded.get('DATABASE_PASSWORD')).toMatchObject({ value: 'only-db-pass' });
    expect(loaded.get('DATABASE_PASSWORD')!.previous).toBeUndefined();
    expect(loaded.get('API_KEY_PEPPER')!.previous).toBeUndefined();
    // Both stages were asked for: the missing AWSPREVIOUS (ResourceNotFoundException) is not an error.
    expect(aws.calls['secretsmanager.GetSecretValue']).toBe(4);
  });

  it('an AWSPREVIOUS read that fails otherwise (not "not found") fails the load, named by its class', async () => {
    aws.putSecret('core', { DATABASE_PASSWORD: 'one' });
    aws.putSecret('core', { DATABASE_PASSWORD: 'two' });
    const provider = secretsManagerProvider({ ids: ['core'], known: KNOWN, client, retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } });
    const original = client.send.bind(client);
    client.send = ((command: { input: { VersionStage?: string } }) => {
      if (command.input.VersionStage === 'AWSPREVIOUS') return Promise.reject(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
      return original(command as never);
    }) as typeof client.send;
    const error = await provider.load().catch((e: unknown) => e);
    expect((error as Error).name).toBe('AccessDeniedException');
  });

  it('retries throttling, and names a missing secret by its error class', async () => {
    aws.putSecret('core', { APP_SECRET: 'a'.repeat(40) });
    aws.throttleNext(2);
    const provider = secretsManagerProvider({ ids: ['core'], known: KNOWN, client, retry: { attempts: 4, baseDelayMs: 5, maxDelayMs: 20 } });
    expect((await provider.load()).get('APP_SECRET')?.value).toBe('a'.repeat(40));
    const missing = await secretsManagerProvider({ ids: ['absent'], known: KNOWN, client }).load().catch((e: unknown) => e);
    expect((missing as Error).name).toBe('ResourceNotFoundException');
  });
});

describe('secretNameOf', () => {
  it('takes the name out of an ARN, without the random suffix AWS adds', () => {
    expect(secretNameOf('arn:aws:secretsmanager:eu-west-1:123456789012:secret:rampart/production/api_key_pepper-AbC123')).toBe('rampart/production/api_key_pepper');
    expect(secretNameOf('rampart/production/api_key_pepper')).toBe('rampart/production/api_key_pepper');
  });
});
