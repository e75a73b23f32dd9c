import { defineFeature } from '../../feature.js';
import { createCache } from '../../platform/cache/cache-aside.js';
import { authCounters } from './auth-metrics.js';
import { emailReencryptionJob } from './email-reencryption.js';
import { createIdentity } from './identity.js';
import { authRoutes, exposeAuthentication } from './index.js';
import { authJobs } from './jobs.js';
import { authMaintenanceJobs } from './maintenance.js';

/**
 * Accounts, tokens, API keys, MFA and roles. Web processes build the identity (signing keys,
 * hashing, revocations) and decorate the app with `rampart.authenticate` for the features and
 * plugins after it; every process stands ready to run the leader's maintenance.
 */
export const authFeature = defineFeature({
  name: 'auth',
  async start({ config, db, logger, queue, redis, fieldKeys, mailer, secrets, roles, metrics }) {
    const schedules = [...authMaintenanceJobs(db), emailReencryptionJob(db, fieldKeys, config.appSecret ?? '')];
    // Sign-up and password-reset mail: enqueued by web processes, sent by whichever runs the worker.
    const jobs = authJobs({ db, fieldKeys, appSecret: config.appSecret ?? '', mailer, publicBaseUrl: config.publicBaseUrl });
    if (!roles.web) return { schedules, jobs };
    const cache = createCache({ redis: redis?.client, prefix: config.redisKeyPrefix, logger });
    const identity = await createIdentity(config, db, logger, {
      cache,
      revocations: redis ? { redis: redis.client, prefix: config.redisKeyPrefix } : undefined,
      fieldKeys,
      mailer,
      queue,
      counters: authCounters(metrics),
    });
    return {
      schedules,
      jobs,
      routes: [authRoutes(identity), exposeAuthentication(identity, { jobs: queue, db })],
      // Also on every SIGHUP: the operator asks for a reload, and the signing keys live in the database.
      async onSecretsChange(changed) {
        const pepper = secrets.get('API_KEY_PEPPER');
        if (changed.includes('API_KEY_PEPPER') && pepper !== undefined) identity.apiKeys.peppers.replace(pepper);
        await identity.keyring.reload().catch((err: unknown) => logger.warn({ err }, 'could not re-read the signing keys; keeping the current ones'));
      },
      async close() {
        await cache.close();
        await identity.revocations.close?.();
      },
    };
  },
});
