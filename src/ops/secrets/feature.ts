import { defineFeature } from '../../feature.js';
import type { SecretAge } from './secret-ages.js';
import { agePolicyOf, chainSecretAges, databaseSecretAges } from './secret-audit.js';

// Ages change by the day: a scrape reads the database at most this often.
const FRESH_MS = 5 * 60_000;
// After a failed read the database-held rows are tried again sooner.
const RETRY_MS = 30_000;

/**
 * `secrets_rotation_overdue{secret}` on every process: what `rampart secrets audit` would say,
 * so an alert fires on an overdue secret without anyone running the audit. Names only.
 */
export const secretAgesFeature = defineFeature({
  name: 'secret-ages',
  start({ config, db, secrets, logger }) {
    const policy = agePolicyOf(config);
    let held: { rows: SecretAge[]; until: number } = { rows: [], until: 0 };
    async function databaseRows(now: Date): Promise<SecretAge[]> {
      if (now.getTime() < held.until) return held.rows;
      try {
        held = { rows: await databaseSecretAges(db, policy, now), until: now.getTime() + FRESH_MS };
      } catch (err) {
        // The series of the database-held secrets go absent meanwhile: unknown is not "not overdue".
        logger.debug({ err }, 'could not read the database-held secrets\' ages');
        held = { rows: [], until: now.getTime() + RETRY_MS };
      }
      return held.rows;
    }
    return {
      metrics(metrics) {
        metrics.gauge('secrets_rotation_overdue', '1 when the secret is older than its rotation policy (as `rampart secrets audit` reports), else 0; absent when its age is unknown.', ['secret'], async (set) => {
          const now = new Date();
          for (const row of [...chainSecretAges(secrets, policy, now), ...(await databaseRows(now))]) {
            if (row.overdue !== null) set({ secret: row.name }, row.overdue ? 1 : 0);
          }
        });
      },
    };
  },
});
