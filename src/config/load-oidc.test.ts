import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './load.js';

const oidc = { OIDC_JWKS_URL: 'https://idp.example/jwks', OIDC_ISSUER: 'https://idp.example/', OIDC_AUDIENCE: 'rampart-api' };

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('OIDC resource-server settings', () => {
  it('are off by default, with the documented claim defaults', () => {
    const config = loadConfig({});
    expect(config.oidcJwksUrl).toBeUndefined();
    expect(config).toMatchObject({ oidcTenantClaim: 'tid', oidcRoleClaim: 'roles', oidcDefaultRole: 'viewer', oidcAlgorithms: ['RS256', 'ES256', 'EdDSA', 'PS256'], authKeyringRefreshS: 30 });
  });

  it('accept all three of URL, issuer and audience', () => {
    expect(loadConfig({ ...oidc, OIDC_ROLE_CLAIM: 'realm_access.roles' })).toMatchObject({ oidcIssuer: 'https://idp.example/', oidcRoleClaim: 'realm_access.roles' });
  });

  it('refuse a partial set, naming what is missing', () => {
    expect(problemsOf({ OIDC_ISSUER: oidc.OIDC_ISSUER })).toEqual(['OIDC_JWKS_URL, OIDC_AUDIENCE: required when OIDC_ISSUER is set (OIDC needs all three)']);
    expect(problemsOf({ OIDC_JWKS_URL: oidc.OIDC_JWKS_URL, OIDC_AUDIENCE: 'x' })).toEqual(['OIDC_ISSUER: required when OIDC_JWKS_URL, OIDC_AUDIENCE are set (OIDC needs all three)']);
  });

  it('refuse symmetric algorithms and none', () => {
    const [problem] = problemsOf({ ...oidc, OIDC_ALGORITHMS: 'RS256,HS256,none' });
    expect(problem).toMatch(/^OIDC_ALGORITHMS: HS256, none not accepted/);
  });

  it('refuse an unknown default role', () => {
    expect(problemsOf({ ...oidc, OIDC_DEFAULT_ROLE: 'owner' })[0]).toMatch(/^OIDC_DEFAULT_ROLE: expected one of admin, member, viewer/);
  });
});
