import type { FastifyRequest } from 'fastify';
import type { Config } from '../../config/schema.js';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Role } from '../../platform/db/tables.js';
import type { Logger } from '../../platform/log/logger.js';
import { createCache, type Cache } from '../../platform/cache/cache-aside.js';
import { createMailer } from '../../platform/mail/create-mailer.js';
import type { Mailer } from '../../platform/mail/mailer.js';
import { createJobQueue } from '../../platform/queue/job-queue.js';
import type { JobQueue } from '../../platform/queue/job-types.js';
import { issueAccessToken, type Principal, type TokenSettings } from './access-tokens.js';
import { apiKeySettings, type ApiKeySettings } from './api-keys-settings.js';
import { UNCOUNTED, type AuthCounters } from './auth-metrics.js';
import { createBruteForceGuard, type BruteForceGuard } from './brute-force.js';
import { browserSessionSettings, type BrowserSessionSettings } from './cookie-session.js';
import { createPasswordHasher, type PasswordHasher } from './password-hashing.js';
import { deriveRotationKey } from './refresh-tokens.js';
import { deriveSealingKey } from './secret-sealing.js';
import { createSessionRevocations, type SessionRevocations, type SharedRevocations } from './session-revocations.js';
import { deriveKeyEncryptionKey, explainMissingTables, loadKeyring, type RefreshingKeyring } from './signing-keys.js';
import { createOidcVerifier, type OidcVerifier } from './oidc-verifier.js';
import { createFieldKeyring, type FieldKeyring } from '../../platform/crypto/field-keyring.js';
import { createEmailProtection, deriveFallbackFieldKeys, type EmailProtection } from './email-protection.js';
import { accessControl } from './access-control.js';
import type { PermissionTable } from './permissions.js';
import type { Db, RequestContext } from './store.js';

/** Everything the auth routes share, built once at start. */
export interface Identity {
  /** Role → permissions (base table + RBAC_EXTRA_PERMISSIONS); see permissions.ts. */
  permissions: PermissionTable;
  /** Set in OIDC resource-server mode (OIDC_JWKS_URL, OIDC_ISSUER, OIDC_AUDIENCE). */
  oidc: OidcVerifier | undefined;
  db: Db;
  logger: Logger;
  keyring: RefreshingKeyring;
  hasher: PasswordHasher;
  revocations: SessionRevocations;
  /**
   * Cache-aside for hot reads (`/v1/me`, API key lookups). Optional so hand-built identities
   * keep compiling; without it those reads go straight to the database.
   */
  cache?: Cache;
  tokens: TokenSettings & { refreshTtlS: number; reuseIntervalS: number; rotationKey: Buffer };
  /** Seals TOTP secrets at rest (see secret-sealing.ts). */
  totpKey: Buffer;
  apiKeys: ApiKeySettings;
  /** Email addresses at rest: encrypted, found by keyed hash (email-protection.ts). */
  emails: EmailProtection;
  /** Password-reset and sign-up mail; instructions in it start with `publicBaseUrl`. */
  mail: { mailer: Mailer; publicBaseUrl: string };
  /** Where mail work is enqueued (it runs on a worker, off the request path). */
  jobs: JobQueue;
  /** SIGNUP_EMAIL_VERIFICATION, resolved: `required` (production default) or `off`. */
  signupVerification: 'required' | 'off';
  /** Failure counters on login, MFA and reset (see brute-force.ts). */
  throttle: BruteForceGuard;
  /** Refusals for /metrics: failed sign-ins by reason, wrong MFA codes, locks. */
  counters: AuthCounters;
  /** Cookie sessions for the browser console: allowed origins and the CSRF key (see cookie-session.ts). */
  browser: BrowserSessionSettings;
}

export type IdentityConfig = Pick<
  Config,
  'appSecret' | 'authIssuer' | 'authAudience' | 'authAccessTokenTtlS' | 'authRefreshTokenTtlS' | 'authRefreshReuseIntervalS' | 'authArgon2MemoryKib' | 'authArgon2TimeCost' | 'authArgon2Parallelism' | 'authHashConcurrency' | 'env' | 'apiKeyRotationOverlapS' | 'smtpUrl' | 'mailFrom' | 'publicBaseUrl' | 'dataDir'
  | 'authThrottleDelayAfter' | 'authLockoutAfter' | 'authLockoutS' | 'authThrottleIpFactor' | 'corsOrigins'
>;

// Optional so that callers built before these settings existed keep compiling; defaults apply.
export type AccessControlConfig = Partial<Pick<
  Config,
  'fieldEncryptionKeys' | 'apiKeyPepper' | 'signupEmailVerification' | 'authKeyringRefreshS' | 'rbacExtraPermissions' | 'oidcJwksUrl' | 'oidcIssuer' | 'oidcAudience' | 'oidcTenantClaim' | 'oidcRoleClaim' | 'oidcDefaultRole' | 'oidcAlgorithms' | 'oidcJwksCacheS'
>>;


/** What several instances share through Redis; absent (embedded, one instance): memory only. */
export interface SharedIdentityState {
  cache?: Cache;
  revocations?: Omit<SharedRevocations, 'logger'>;
  /** The process's field-encryption keys, swapped live on rotation; absent: from `fieldEncryptionKeys`. */
  fieldKeys?: FieldKeyring;
  /** The process's mailer (other features send through it too); absent: one from SMTP_URL or the outbox. */
  mailer?: Mailer;
  /** The process's job queue (it knows every job's policy); absent: one with default policies. */
  queue?: JobQueue;
  /** Where refusals are counted (`auth_failures_total` and friends); absent: nowhere. */
  counters?: AuthCounters;
}

function oidcVerifierFor(config: AccessControlConfig, logger: Logger): OidcVerifier | undefined {
  if (!config.oidcJwksUrl || !config.oidcIssuer || !config.oidcAudience) return undefined;
  return createOidcVerifier({
    jwksUrl: config.oidcJwksUrl,
    issuer: config.oidcIssuer,
    audience: config.oidcAudience,
    tenantClaim: config.oidcTenantClaim ?? 'tid',
    roleClaim: config.oidcRoleClaim ?? 'roles',
    defaultRole: (config.oidcDefaultRole ?? 'viewer') as Role,
    algorithms: config.oidcAlgorithms ?? ['RS256', 'ES256', 'EdDSA', 'PS256'],
    jwksCacheS: config.oidcJwksCacheS ?? 600,
  }, logger);
}

/** Needs the migrated database: it loads (or creates) the shared signing keys. */
export async function createIdentity(config: IdentityConfig & AccessControlConfig, db: Db, logger: Logger, shared: SharedIdentityState = {}): Promise<Identity> {
  if (!config.appSecret) throw new Error('APP_SECRET is required for authentication (it encrypts the signing keys)');
  // Before any key is loaded: a typo in the role table stops the start, it never grants silently.
  const { permissions } = accessControl(config, db);
  const counters = shared.counters ?? UNCOUNTED;
  const [keyring, hasher] = await Promise.all([
    loadKeyring(db, deriveKeyEncryptionKey(config.appSecret), {
      intervalMs: (config.authKeyringRefreshS ?? 30) * 1000,
      onError: (err) => logger.warn({ err }, 'could not re-read the signing keys; keeping the current ones'),
    }).catch((error: unknown) => {
      throw explainMissingTables(error);
    }),
    createPasswordHasher({
      memoryKib: config.authArgon2MemoryKib,
      timeCost: config.authArgon2TimeCost,
      parallelism: config.authArgon2Parallelism,
      concurrency: config.authHashConcurrency ?? Math.max(1, availableParallelism() - 1),
    }),
  ]);
  return {
    db,
    logger,
    keyring,
    permissions,
    oidc: oidcVerifierFor(config, logger),
    hasher,
    revocations: createSessionRevocations(db, undefined, shared.revocations && { ...shared.revocations, logger }),
    cache: shared.cache ?? createCache({ prefix: 'rampart:', logger }),
    tokens: {
      issuer: config.authIssuer,
      audience: config.authAudience,
      accessTtlS: config.authAccessTokenTtlS,
      refreshTtlS: config.authRefreshTokenTtlS,
      reuseIntervalS: config.authRefreshReuseIntervalS,
      rotationKey: deriveRotationKey(config.appSecret),
    },
    totpKey: deriveSealingKey(config.appSecret, 'mfa-totp/aes-256-gcm/v1'),
    apiKeys: apiKeySettings(config.appSecret, config.apiKeyPepper, config.env, config.apiKeyRotationOverlapS),
    emails: createEmailProtection(shared.fieldKeys ?? createFieldKeyring(config.fieldEncryptionKeys ?? deriveFallbackFieldKeys(config.appSecret)), config.appSecret),
    mail: {
      mailer: shared.mailer ?? createMailer({ smtpUrl: config.smtpUrl, outboxDirectory: join(config.dataDir, 'outbox'), from: config.mailFrom }),
      publicBaseUrl: config.publicBaseUrl,
    },
    jobs: shared.queue ?? createJobQueue(),
    signupVerification: (config.signupEmailVerification as 'required' | 'off' | undefined) ?? (config.env === 'production' ? 'required' : 'off'),
    throttle: createBruteForceGuard(
      { delayAfter: config.authThrottleDelayAfter, lockoutAfter: config.authLockoutAfter, lockoutS: config.authLockoutS, ipFactor: config.authThrottleIpFactor },
      config.appSecret,
      counters,
    ),
    counters,
    browser: browserSessionSettings(config.appSecret, config.publicBaseUrl, config.corsOrigins),
  };
}

/** What `authenticate` needs to accept Rampart's tokens, the console cookie and the OIDC provider's tokens. */
export function bearerAuthOptions(identity: Identity) {
  return { keyring: identity.keyring, tokens: identity.tokens, revocations: identity.revocations, browser: identity.browser, oidc: identity.oidc, counters: identity.counters };
}

const MAX_USER_AGENT = 512;

export function contextOf(request: FastifyRequest): RequestContext {
  const userAgent = request.headers['user-agent'];
  return { ip: request.ip, userAgent: userAgent ? userAgent.slice(0, MAX_USER_AGENT) : null, correlationId: String(request.id) };
}

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

/** The answer to login and refresh: the access token derives from the refresh token's row (`grant`). */
export async function tokenPair(identity: Identity, principal: Principal, refreshToken: string, grant: { id: string; issuedAt: Date }): Promise<TokenPair> {
  return {
    access_token: await issueAccessToken(identity.keyring, identity.tokens, principal, grant),
    refresh_token: refreshToken,
    token_type: 'Bearer',
    expires_in: identity.tokens.accessTtlS,
  };
}
