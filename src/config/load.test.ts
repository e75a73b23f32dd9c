import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './load.js';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 8080, metricsPort: 9464, env: 'development', dataDir: './.rampart', databasePoolMax: 20, databaseIdleTimeoutMs: 30_000, databaseConnectTimeoutMs: 2_000, forceHttps: false, trustedProxies: [], corsOrigins: [], logLevel: 'info' });
    expect(config.databaseUrl).toBeUndefined();
  });

  it('parses lists, booleans and CIDRs', () => {
    const config = loadConfig({ TRUSTED_PROXIES: '10.0.0.0/8, 192.168.1.10 ,::1, fd00::/8', CORS_ORIGINS: 'https://a.example,https://b.example', FORCE_HTTPS: 'yes' });
    expect(config.trustedProxies).toEqual(['10.0.0.0/8', '192.168.1.10', '::1', 'fd00::/8']);
    expect(config.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(config.forceHttps).toBe(true);
  });

  it('reports every problem at once, each naming its variable', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig({ PORT: '-1', DATABASE_POOL_MAX: '1.5', TRUSTED_PROXIES: '::/0', RAMPART_DATADIR: 'x', DOCS_USER: 'only-user' });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.problems).toEqual([
      'PORT: must be ≥ 0, got -1',
      'DATABASE_POOL_MAX: expected an integer, got "1.5"',
      'TRUSTED_PROXIES: "::/0" would trust every address; list your proxies\' addresses instead',
      expect.stringMatching(/^RAMPART_DATADIR: unknown setting/),
      'DOCS_PASSWORD: required when DOCS_USER is set',
    ]);
  });

  it.each(['10.0.0.0/33', '10.0.0/8', '1.2.3.4/8/1', 'example.com'])('rejects the malformed proxy entry %s', (entry) => {
    expect(() => loadConfig({ TRUSTED_PROXIES: entry })).toThrow(/TRUSTED_PROXIES/);
  });

  it('takes one address as CONTACT_INBOX and refuses anything else, naming the variable', () => {
    expect(loadConfig({ CONTACT_INBOX: 'inbox@example.com' }).contactInbox).toBe('inbox@example.com');
    for (const value of ['not-an-address', 'a@b.example, c@d.example', 'a@b.example\nBcc: x@evil.example']) {
      expect(() => loadConfig({ CONTACT_INBOX: value })).toThrow(/CONTACT_INBOX: expected one email address/);
    }
  });
});
