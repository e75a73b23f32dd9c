import { Counter } from 'prom-client';
import type { Config } from '../../config/schema.js';
import { defineFeature, type Feature, type Platform } from '../../feature.js';
import type { JobContext, JobDefinition } from '../../platform/queue/job-types.js';
import { listBackups } from './backup-catalog.js';
import { runExclusively } from './backup-lease.js';
import { backupNow, pruneNow, verifyNow } from './backup-runs.js';
import { backupStoreFor, whyNotScheduled } from './backup-settings.js';
import { backupStatusReader, describeStatus } from './backup-status.js';

// Backups, prunes and drills as cron jobs of the worker, one at a time across all workers
// (backup-lease.ts), with their metrics and a `/readiness` entry in every process.

const HOUR_MS = 3_600_000;

export const backupFeature = defineFeature({
  name: 'backups',
  start(platform: Platform): Feature {
    const { config, logger } = platform;
    const store = backupStoreFor(config);
    const status = backupStatusReader(store);
    const startedAt = new Date();
    const failures = { count: () => {} } as { count: (operation: string) => void };
    const why = whyNotScheduled(config);
    if (why && platform.roles.worker) (config.env === 'production' ? logger.error.bind(logger) : logger.info.bind(logger))(`scheduled backups are off: ${why}`);

    // Read at each run: a rotated database password or backup identity is used without a restart.
    const current = (): Config => ({
      ...config,
      databasePassword: platform.secrets.get('DATABASE_PASSWORD') ?? config.databasePassword,
      backupIdentity: platform.secrets.get('BACKUP_IDENTITY') ?? config.backupIdentity,
    });
    // `operation` labels the failure metric; `activity` is what an operator calls it (lease holder, log lines).
    const exclusive = (operation: string, activity: string, work: (context: JobContext) => Promise<void>) => async (_payload: unknown, context: JobContext) => {
      const outcome = await runExclusively(activity, async () => {
        try {
          await work(context);
        } catch (error) {
          failures.count(operation);
          throw error;
        } finally {
          status.invalidate();
        }
      }, { db: platform.db, signal: context.signal, onWait: (running) => context.logger.info({ operation, running }, `waiting for the running ${running} to finish`) });
      if (!outcome.ran && outcome.reason === 'same-operation-running') context.logger.info({ operation }, `the previous ${activity} is still running; skipping this tick`);
      if (!outcome.ran && outcome.reason === 'aborted') throw new Error(`the ${activity} gave up waiting for the running backup, prune or drill`);
    };
    const jobs: JobDefinition[] = [];
    if (!why) {
      const scheduled = (type: string, activity: string, schedule: string, run: (context: JobContext) => Promise<void>): void => {
        if (schedule === 'off') return;
        // A failure (S3 away, disk full) is retried with backoff; the next tick runs regardless.
        jobs.push({ type, schedule, run: exclusive(type.replace('backup.', ''), activity, run), maxAttempts: 5, backoffMs: 5_000, maxBackoffMs: 5 * 60_000, timeoutMs: 6 * HOUR_MS });
      };
      scheduled('backup.create', 'backup', config.backupSchedule, async (context) => {
        const { metadata } = await backupNow(current(), 'scheduled', { warn: (message) => context.logger.warn(message), observe: platform.outgoingCalls });
        context.logger.info({ backup_id: metadata.id, bytes: metadata.sizes.encryptedBytes, duration_ms: metadata.durationMs }, 'backup complete');
      });
      scheduled('backup.prune', 'prune', config.backupPruneSchedule, async (context) => {
        const plan = await pruneNow(current(), { observe: platform.outgoingCalls });
        context.logger.info({ deleted: plan.remove, kept: plan.keep.length }, 'backups pruned');
      });
      if (current().backupIdentity !== undefined || config.env === 'development') {
        scheduled('backup.verify', 'drill', config.backupVerifySchedule, async (context) => {
          if ((await listBackups(store)).length === 0) return void context.logger.info('no backup to drill yet');
          const report = await verifyNow(current(), 'latest', { observe: platform.outgoingCalls });
          if (report.leftoversDropped.length > 0) context.logger.warn({ databases: report.leftoversDropped }, 'dropped scratch databases that killed restore drills left behind');
          context.logger.info({ backup_id: report.id, tables: report.tables.compared, duration_ms: report.durationMs }, 'restore drill passed');
        });
      } else if (platform.roles.worker) {
        logger.error('BACKUP_IDENTITY is not set: the daily restore drill cannot open backups and does not run');
      }
    }

    return {
      jobs,
      readiness: [{
        name: 'backups',
        critical: false,
        async check() {
          if (why) return { configured: false, ok: config.env !== 'production', details: `scheduled backups off: ${why}` };
          try {
            return { configured: true, ...describeStatus(await status.read(), new Date(), { backupMaxAgeS: config.backupMaxAgeS, drillMaxAgeS: config.backupVerifyMaxAgeS, watchingSince: startedAt }) };
          } catch {
            return { configured: true, ok: false, details: `error: cannot list ${store.location}` };
          }
        },
      }],
      metrics(metrics) {
        const failed = new Counter({ name: 'backup_failures_total', help: 'Scheduled backups, prunes and restore drills that failed in this process, by operation.', labelNames: ['operation'], registers: [metrics.registry] });
        for (const operation of ['create', 'prune', 'verify']) failed.inc({ operation }, 0);
        failures.count = (operation) => failed.inc({ operation });
        const read = async () => status.read().catch(() => undefined);
        metrics.gauge('backup_last_success_timestamp_seconds', 'When the newest complete backup was taken (Unix time).', [], async (set) => {
          const at = (await read())?.lastBackup?.at;
          if (at) set({}, at.getTime() / 1000);
        });
        metrics.gauge('backup_last_size_bytes', 'Encrypted size of the newest complete backup.', [], async (set) => {
          const last = (await read())?.lastBackup;
          if (last) set({}, last.bytes);
        });
        metrics.gauge('backup_duration_seconds', 'How long the newest complete backup took.', [], async (set) => {
          const last = (await read())?.lastBackup;
          if (last) set({}, last.durationMs / 1000);
        });
        metrics.gauge('backup_verify_last_success_timestamp_seconds', 'When a restore drill last passed (Unix time).', [], async (set) => {
          const at = (await read())?.lastDrill;
          if (at) set({}, at.getTime() / 1000);
        });
      },
    };
  },
});
