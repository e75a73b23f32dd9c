import type { FastifyRequest } from 'fastify';
import type { Config } from '../../config/schema.js';
import { join } from 'node:path';
import type { Logger } from '../../platform/log/logger.js';
import { createMailer } from '../../platform/mail/create-mailer.js';
import type { Mailer } from '../../platform/mail/mailer.js';
import { issueAccessToken, type Principal, type TokenSettings } from './access-tokens.js';
import { apiKeySettings, type ApiKeySettings } from './api-keys-settings.js';
import { createPasswordHasher, type PasswordHasher } from './password-hashing.js';
import { deriveRotationKey } from './refresh-tokens.js';
import { deriveSealingKey } from './secret-sealing.js';
import { createSessionRevocations, type SessionRevocations } from './session-revocations.js';
import { deriveKeyEncryptionKey, loadKeyring, type Keyring } from './signing-keys.js';
import type { Db, RequestContext } from './store.js';

/** Everything the auth routes share, built once at start. */
export interface Identity {
  db: Db;
  logger: Logger;
  keyring: Keyring;
  hasher: PasswordHasher;
  revocations: SessionRevocations;
  tokens: TokenSettings & { refreshTtlS: number; reuseIntervalS: number; rotationKey: Buffer };
  /** Seals TOTP secrets at rest (see secret-sealing.ts). */
  totpKey: Buffer;
  apiKeys: ApiKeySettings;
  /** Password-reset mail; links in it start with `publicBaseUrl`. */
  mail: { mailer: Mailer; publicBaseUrl: string };
}

export type IdentityConfig = Pick<
  Config,
  'appSecret' | 'authIssuer' | 'authAudience' | 'authAccessTokenTtlS' | 'authRefreshTokenTtlS' | 'authRefreshReuseIntervalS' | 'authArgon2MemoryKib' | 'authArgon2TimeCost' | 'authArgon2Parallelism' | 'env' | 'apiKeyRotationOverlapS' | 'smtpUrl' | 'mailFrom' | 'publicBaseUrl' | 'dataDir'
>;

const UNDEFINED_TABLE = '42P01';

/** Needs the migrated database: it loads (or creates) the shared signing keys. */
export async function createIdentity(config: IdentityConfig, db: Db, logger: Logger): Promise<Identity> {
  if (!config.appSecret) throw new Error('APP_SECRET is required for authentication (it encrypts the signing keys)');
  const [keyring, hasher] = await Promise.all([
    loadKeyring(db, deriveKeyEncryptionKey(config.appSecret)).catch((error: unknown) => {
      if ((error as { code?: string }).code === UNDEFINED_TABLE) throw new Error('the database has no identity tables yet: run `rampart migrate up` first', { cause: error });
      throw error;
    }),
    createPasswordHasher({ memoryKib: config.authArgon2MemoryKib, timeCost: config.authArgon2TimeCost, parallelism: config.authArgon2Parallelism }),
  ]);
  return {
    db,
    logger,
    keyring,
    hasher,
    revocations: createSessionRevocations(db),
    tokens: {
      issuer: config.authIssuer,
      audience: config.authAudience,
      accessTtlS: config.authAccessTokenTtlS,
      refreshTtlS: config.authRefreshTokenTtlS,
      reuseIntervalS: config.authRefreshReuseIntervalS,
      rotationKey: deriveRotationKey(config.appSecret),
    },
    totpKey: deriveSealingKey(config.appSecret, 'mfa-totp/aes-256-gcm/v1'),
    apiKeys: apiKeySettings(config.appSecret, config.env, config.apiKeyRotationOverlapS),
    mail: {
      mailer: createMailer({ smtpUrl: config.smtpUrl, outboxDirectory: join(config.dataDir, 'outbox'), from: config.mailFrom }),
      publicBaseUrl: config.publicBaseUrl,
    },
  };
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
