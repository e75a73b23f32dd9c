import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createIdentity, type Identity } from '../../src/features/auth/identity.js';
import type { DatabaseHandle } from '../../src/platform/db/database.js';
import { migrateUp } from '../../src/platform/db/migrations.js';

/** The auth services on a migrated test database, with argon2 cheap enough for tests. */
/** Mail goes to `<outboxRoot>/outbox` (default: a fresh temporary directory). */
export async function testIdentity(
  handle: DatabaseHandle,
  overrides: { reuseIntervalS?: number; apiKeyRotationOverlapS?: number; outboxRoot?: string; env?: 'development' | 'production'; signupEmailVerification?: 'required' | 'off' } = {},
): Promise<Identity> {
  await migrateUp(handle);
  return createIdentity({
    appSecret: 'an-app-secret-of-at-least-32-characters',
    authIssuer: 'rampart',
    authAudience: 'rampart-api',
    authAccessTokenTtlS: 900,
    authRefreshTokenTtlS: 3600,
    authRefreshReuseIntervalS: overrides.reuseIntervalS ?? 10,
    authArgon2MemoryKib: 1024,
    authArgon2TimeCost: 1,
    authArgon2Parallelism: 1,
    authHashConcurrency: undefined,
    authThrottleDelayAfter: 5,
    authLockoutAfter: 10,
    authLockoutS: 900,
    authThrottleIpFactor: 5,
    corsOrigins: [],
    env: overrides.env ?? 'development',
    signupEmailVerification: overrides.signupEmailVerification,
    apiKeyRotationOverlapS: overrides.apiKeyRotationOverlapS ?? 0,
    smtpUrl: undefined,
    mailFrom: 'Rampart <no-reply@localhost>',
    publicBaseUrl: 'http://localhost:8080',
    dataDir: overrides.outboxRoot ?? mkdtempSync(join(tmpdir(), 'rampart-identity-')),
  }, handle.db, pino({ level: 'silent' }));
}
