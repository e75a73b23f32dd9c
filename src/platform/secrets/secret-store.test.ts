import { describe, expect, it } from 'vitest';
import type { SecretEntry, SecretProvider } from './secret-provider.js';
import { createSecretStore, SecretsUnavailable } from './secret-store.js';

function provider(name: string, values: Record<string, string>): SecretProvider & { values: Record<string, string>; failWith?: Error } {
  const p: SecretProvider & { values: Record<string, string>; failWith?: Error } = {
    name,
    values,
    async load() {
      if (p.failWith) throw p.failWith;
      return new Map<string, SecretEntry>(Object.entries(p.values).map(([k, v]) => [k, { value: v }]));
    },
  };
  return p;
}

describe('secret store', () => {
  it('takes each key from the first provider in the chain that has it', async () => {
    const env = provider('env', { APP_SECRET: 'from-env' });
    const ssm = provider('ssm', { APP_SECRET: 'from-ssm', DOCS_PASSWORD: 'docs-from-ssm' });
    const store = createSecretStore([env, ssm]);
    await store.load();
    expect(store.resolved('APP_SECRET')).toMatchObject({ value: 'from-env', source: 'env' });
    expect(store.resolved('DOCS_PASSWORD')).toMatchObject({ value: 'docs-from-ssm', source: 'ssm' });
  });

  it('gives the previous generation of a key from the provider that supplies its current value, never as the current value', async () => {
    const entries = new Map<string, SecretEntry>([
      ['DATABASE_PASSWORD', { value: 'new-pass', previous: { value: 'old-pass', stage: 'AWSPREVIOUS', version: 'v1' } }],
      ['APP_SECRET', { value: 'sm-secret', previous: { value: 'old-sm-secret', stage: 'AWSPREVIOUS' } }],
      ['DOCS_PASSWORD', { value: 'same', previous: { value: 'same', stage: 'AWSPREVIOUS' } }],
    ]);
    const sm: SecretProvider = { name: 'secretsmanager', load: async () => entries };
    const store = createSecretStore([provider('env', { APP_SECRET: 'from-env' }), sm]);
    await store.load();
    expect(store.get('DATABASE_PASSWORD')).toBe('new-pass');
    expect(store.previous('DATABASE_PASSWORD')).toMatchObject({ value: 'old-pass', stage: 'AWSPREVIOUS', version: 'v1' });
    // env wins APP_SECRET: another provider's previous generation does not belong to it.
    expect(store.get('APP_SECRET')).toBe('from-env');
    expect(store.previous('APP_SECRET')).toBeUndefined();
    // A previous equal to the current value is no fallback.
    expect(store.previous('DOCS_PASSWORD')).toBeUndefined();
    expect(store.previous('API_KEY_PEPPER')).toBeUndefined();
    // A new previous generation alone changes no value in use, but is reported apart (the redactor must learn it).
    const previousChanged: string[][] = [];
    store.onPreviousChange((keys) => previousChanged.push(keys));
    entries.set('DATABASE_PASSWORD', { value: 'new-pass', previous: { value: 'older-pass', stage: 'AWSPREVIOUS' } });
    entries.set('DOCS_PASSWORD', { value: 'same', previous: { value: 'same', stage: 'AWSPREVIOUS' } });
    expect(await store.refresh()).toEqual([]);
    expect(previousChanged).toEqual([['DATABASE_PASSWORD']]);
    expect(store.previous('DATABASE_PASSWORD')?.value).toBe('older-pass');
  });

  it('refuses to load when a provider fails at start, naming it and the error class only', async () => {
    const ssm = provider('ssm', {});
    ssm.failWith = Object.assign(new Error('secret-looking message'), { name: 'AccessDeniedException' });
    const store = createSecretStore([provider('env', {}), ssm]);
    const error = await store.load().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretsUnavailable);
    expect((error as SecretsUnavailable).failures).toEqual([{ provider: 'ssm', reason: 'AccessDeniedException' }]);
    expect((error as Error).message).not.toContain('secret-looking message');
  });

  it('reports changed keys on refresh and tells listeners', async () => {
    const ssm = provider('ssm', { APP_SECRET: 'one', DOCS_PASSWORD: 'same' });
    const store = createSecretStore([ssm]);
    await store.load();
    const heard: string[][] = [];
    store.onChange((keys) => void heard.push(keys));
    ssm.values = { APP_SECRET: 'two', DOCS_PASSWORD: 'same' };
    expect(await store.refresh()).toEqual(['APP_SECRET']);
    expect(store.get('APP_SECRET')).toBe('two');
    expect(heard).toEqual([['APP_SECRET']]);
    expect(await store.refresh()).toEqual([]);
  });

  it('keeps the last good values of a provider that fails at refresh, and recovers', async () => {
    const ssm = provider('ssm', { APP_SECRET: 'kept' });
    const failures: string[] = [];
    const store = createSecretStore([ssm]);
    store.onRefreshFailure((name, reason) => failures.push(`${name}:${reason}`));
    await store.load();
    ssm.failWith = Object.assign(new Error('down'), { code: 'ECONNREFUSED' });
    ssm.values = { APP_SECRET: 'new' };
    expect(await store.refresh()).toEqual([]);
    expect(store.get('APP_SECRET')).toBe('kept');
    expect(store.statuses()).toEqual([expect.objectContaining({ name: 'ssm', ok: false, failure: 'ECONNREFUSED' })]);
    expect(failures).toEqual(['ssm:ECONNREFUSED']);
    delete ssm.failWith;
    expect(await store.refresh()).toEqual(['APP_SECRET']);
    expect(store.statuses()).toEqual([expect.objectContaining({ name: 'ssm', ok: true })]);
  });
});
