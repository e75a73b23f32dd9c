import { Command, Argument, type CommanderError } from 'commander';
import { packageVersion } from '../package-info.js';
import { DataDirInUse } from '../platform/db/data-dir-lock.js';
import { CliExit, databaseInUseExit, EXIT, resolveConfig } from './bootstrap.js';
import { configMarkdownTable } from './config-table.js';
import type { MigrateAction } from './migrate.js';
import type { ServeOptions } from './serve.js';
import type { JobsListOptions, JobsPurgeOptions, JobsRetryOptions } from './jobs.js';
import type { ReleaseOptions } from './release.js';
import type { SloGenerateOptions } from './slo.js';
import type { BackupOptions, RestoreOptions } from './backup.js';
import type { SmokeCommandOptions } from './smoke.js';
import type { DeployCommandOptions } from './deploy.js';
import type { PitrConfigOptions } from './backup-pitr.js';
import type { DoctorOptions } from './doctor.js';

// Commands load their modules on use: `--help` and `config` stay instant.

const PLUGIN_HELP = 'load extension modules: a default-exported Fastify plugin adds routes, an exported `jobs(host)` adds job types';

const program = new Command()
  .name('rampart')
  .description('A production-hardened backend platform: web, worker and operations in one package.')
  .version(packageVersion)
  // `rampart backup --json` and `rampart backup list --json` are different commands' options.
  .enablePositionalOptions();

program
  .command('serve')
  .description('run the web process (public HTTP port + internal metrics port)')
  .option('--with-worker', 'also run the worker in this process (what `npm start` does)')
  .option('--plugin <module...>', PLUGIN_HELP)
  .action(async (options: ServeOptions) => (await import('./serve.js')).serveCommand(options));

program
  .command('worker')
  .description('run the background worker: job handlers, retries, cron schedules')
  .option('--plugin <module...>', PLUGIN_HELP)
  .action(async (options: { plugin?: string[] }) => (await import('./worker.js')).workerCommand(options));

const jobs = program.command('jobs').description('inspect and repair the job queue (DATABASE_URL, or the embedded database)');
jobs
  .command('list')
  .description('queue depth by type and state, then the jobs themselves (newest first)')
  .option('--state <state>', 'queued, active, completed or dead', 'dead')
  .option('--type <type>', 'only this job type')
  .option('--limit <n>', 'at most this many jobs', '50')
  .option('--json', 'machine-readable output')
  .action(async (options: JobsListOptions) => (await import('./jobs.js')).jobsListCommand(options));
jobs
  .command('retry')
  .description('put dead-lettered jobs back in the queue with fresh attempts: the given ids, or --all')
  .argument('[ids...]', 'job ids')
  .option('--all', 'every dead job (of --type, when given)')
  .option('--type <type>', 'only this job type')
  .action(async (ids: string[], options: JobsRetryOptions) => (await import('./jobs.js')).jobsRetryCommand(ids, options));
jobs
  .command('purge-dlq')
  .description('delete dead-lettered jobs for good')
  .option('--type <type>', 'only this job type')
  .option('--older-than-days <n>', 'only jobs that died more than this many days ago', '0')
  .action(async (options: JobsPurgeOptions) => (await import('./jobs.js')).jobsPurgeCommand(options));

program
  .command('migrate')
  .description('apply, revert or list database migrations (DATABASE_URL, or the embedded database)')
  .addArgument(new Argument('[action]', 'what to do').choices(['up', 'down', 'status']).default('up'))
  .action(async (action: MigrateAction) => (await import('./migrate.js')).migrateCommand(action));

const BACKUP_EXITS = '\nExit codes: 0 done, 1 failed, 2 bad input or configuration, 3 refused (unsafe, or would destroy data), 5 the embedded database is in use by a running Rampart, 6 the drill found differences.';
const backup = program
  .command('backup')
  .enablePositionalOptions()
  .description('back up the whole database: pg_dump (or the embedded database\'s) → zstd → age → SHA-256 → BACKUP_DESTINATION; exit 0 only when the written file was read back and its checksum matched')
  .option('--to <dest>', 'a directory or s3://bucket/prefix (default: BACKUP_DESTINATION, else RAMPART_DATA_DIR/backups)')
  .option('--label <label>', 'manual, pre-deploy or scheduled (retention differs)', 'manual')
  .option('--accept-shrink', 'take the backup even when it holds far fewer rows than the previous one')
  .option('--json', 'machine-readable output')
  .addHelpText('after', `\nExample:\n  rampart backup --label pre-deploy --to s3://acme-backups/rampart${BACKUP_EXITS}`)
  .action(async (options: BackupOptions) => (await import('./backup.js')).backupCommand(options));
backup
  .command('list')
  .description('complete backups: id, time, label, size, retention tier, restore drill outcome')
  .option('--to <dest>', 'a directory or s3://bucket/prefix')
  .option('--json', 'machine-readable output')
  .addHelpText('after', '\nExample:\n  rampart backup list --json')
  .action(async (options: { to?: string; json?: boolean }) => (await import('./backup.js')).backupListCommand(options));
backup
  .command('verify')
  .description('restore drill: check the checksum, restore into a scratch database, compare every table\'s rows and checksum and the migration with the metadata, write <id>.verify.{json,md} beside the backup')
  .argument('[backup]', 'a backup id or latest', 'latest')
  .option('--to <dest>', 'a directory or s3://bucket/prefix')
  .option('--json', 'machine-readable output')
  .addHelpText('after', `\nExample:\n  rampart backup verify latest${BACKUP_EXITS}`)
  .action(async (which: string, options: { to?: string; json?: boolean }) => (await import('./backup.js')).backupVerifyCommand(which, options));
backup
  .command('prune')
  .description('apply retention: hourly 7 d, daily 30 d, weekly 12 w, monthly 12 m, manual and pre-deploy 30 d (BACKUP_KEEP_*); never the newest verified backup')
  .option('--to <dest>', 'a directory or s3://bucket/prefix')
  .option('--dry-run', 'only say what would be deleted')
  .option('--json', 'machine-readable output')
  .addHelpText('after', '\nExample:\n  rampart backup prune --dry-run')
  .action(async (options: { to?: string; dryRun?: boolean; json?: boolean }) => (await import('./backup.js')).backupPruneCommand(options));

backup
  .command('pitr-config')
  .description('print (or --write) the pgBackRest configuration for point-in-time recovery: the encrypted repository on disk or S3, retention, the postgresql.conf archiving settings (archive_timeout 60 s bounds the data lost) and the first steps; the passphrase (BACKUP_PITR_CIPHER_PASS) is never printed')
  .option('--repo <repo>', 'the repository: a directory or s3://bucket/prefix (S3_REGION, S3_ENDPOINT, S3_FORCE_PATH_STYLE apply)', '/var/lib/pgbackrest')
  .option('--stanza <name>', 'the stanza (pgBackRest\'s name for this cluster)', 'rampart')
  .option('--pg-path <dir>', 'the PostgreSQL data directory', '/var/lib/postgresql/15/main')
  .option('--retention-full <n>', 'full backups to keep (WAL older than the oldest is expired)', '2')
  .option('--write <dir>', 'write <dir>/pgbackrest.conf (0600, with the passphrase) and <dir>/postgresql.pitr.conf')
  .option('--json', 'machine-readable output')
  .addHelpText('after', '\nExample:\n  BACKUP_PITR_CIPHER_PASS=… rampart backup pitr-config --repo s3://acme-wal/rampart --write /etc/pgbackrest\n\nExit codes: 0 printed or written, 1 a write failed, 2 bad input or BACKUP_PITR_CIPHER_PASS unset with --write.')
  .action(async (options: PitrConfigOptions) => (await import('./backup-pitr.js')).pitrConfigCommand(options));

const RESTORE_EXITS = '\nExit codes: 0 restored, 1 failed (with --to-time: pgbackrest\'s reason), 2 bad input (a --to-time without a zone, a missing --pg1-path), 3 refused (the target holds data or is in use; with --to-time: PostgreSQL is running), 5 the embedded database is held by a running Rampart, 6 the restored copy differs from the backup (the target is left untouched).';
program
  .command('restore')
  .description('restore a backup into the configured database (or --target-url): into a new database first, checked table by table, then swapped in by rename; refuses while web or worker processes are connected')
  .argument('[backup]', 'a backup id or latest')
  .option('--to <dest>', 'where the backup is: a directory or s3://bucket/prefix')
  .option('--target-url <url>', 'restore into this PostgreSQL database instead of DATABASE_URL')
  .option('--force', 'replace a target that holds data (its contents are kept under another name)')
  .option('--to-time <time>', 'point-in-time recovery instead: pgBackRest restores the stopped cluster at --pg1-path to this ISO 8601 time with a zone; start PostgreSQL afterwards')
  .option('--pg1-path <dir>', 'with --to-time: the data directory of the stopped cluster')
  .option('--stanza <name>', 'with --to-time: the pgBackRest stanza', 'rampart')
  .option('--config <file>', 'with --to-time: pgbackrest.conf (default: pgBackRest\'s own)')
  .option('--delta', 'with --to-time: rewrite only the files that differ (otherwise the data directory must be empty)')
  .option('--json', 'machine-readable output')
  .addHelpText('after', `\nExamples:\n  rampart restore latest --force\n  rampart restore --to-time 2026-12-05T14:03:00Z --pg1-path /var/lib/postgresql/15/main --delta${RESTORE_EXITS}`)
  .action(async (which: string | undefined, options: RestoreOptions) => (await import('./backup.js')).restoreCommand(which, options));

const secrets = program.command('secrets').description('inspect and rotate secrets without downtime');
secrets
  .command('rotate')
  .description('rotate a secret (jwt-signing-key, field-encryption-key, api-key-pepper); running instances pick it up at their next refresh or on SIGHUP')
  .argument('<name>', 'the secret to rotate')
  .action(async (name: string) => (await import('./secrets-rotate.js')).secretsRotateCommand(name));
secrets
  .command('audit')
  .description('each secret\'s source, version and age against the rotation policy; exit 1 when any is overdue, 4 when part could not be read, 5 when a running Rampart holds the embedded database (never prints values)')
  .option('--json', 'machine-readable output')
  .action(async (options: { json?: boolean }) => (await import('./secrets-audit.js')).secretsAuditCommand(options));

program
  .command('slo')
  .description('service level objectives as code')
  .command('generate')
  .description('write Prometheus recording rules, burn-rate alerts and their promtool tests from the SLO spec')
  .option('--spec <file>', 'the SLO spec (YAML)', 'deploy/slo/rampart.slo.yaml')
  .option('--out <dir>', 'output directory, replaced as a whole', 'deploy/prometheus/slo')
  .option('--dashboards <dir>', 'also write the Grafana dashboards (SLO overview, API, jobs, infrastructure) there')
  .option('--check', 'write nothing; exit 1 when --out differs from what the spec generates')
  .option('--json', 'machine-readable output')
  .addHelpText('after', '\nExample:\n  rampart slo generate --spec deploy/slo/rampart.slo.yaml --out deploy/prometheus/slo --dashboards deploy/grafana/dashboards\n  promtool test rules deploy/prometheus/slo/slo.test.yml\n\nExit codes: 0 written (or in step with --check); 1 out of step (--check) or a write failed;\n2 the spec is invalid (each problem as file:line:column: field: message) or an output is a\ndirectory this command did not write.')
  .action(async (options: SloGenerateOptions) => (await import('./slo.js')).sloGenerateCommand(options));

program
  .command('smoke')
  .description('check a live deployment: https redirect, headers, health, readiness, metrics and docs closed, sign-up/sign-in, document upload → worker → search → download, clean-up')
  .argument('<url>', 'base URL, e.g. https://api.example.com (an instance\'s own http:// port is spoken to as the proxy would)')
  .option('--json', 'machine-readable output')
  .option('--skip <check...>', 'checks this deployment does not have (repeatable or comma-separated)')
  .option('--api-key <key>', 'use this API key (documents:read, documents:write) instead of a throwaway account; or RAMPART_SMOKE_API_KEY')
  .option('--worker-timeout <seconds>', 'how long the worker gets to process the uploaded document', '30')
  .addHelpText('after', '\nExample:\n  rampart smoke https://api.example.com --skip docs-protected --json\n\nExit codes: 0 every check passed (or was skipped), 1 a check failed, 2 bad arguments.')
  .action(async (url: string, options: SmokeCommandOptions) => (await import('./smoke.js')).smokeCommand(url, options));

program
  .command('deploy')
  .description('blue-green deploy on this host behind nginx or Caddy: backup, migrations, start the idle colour, readiness, smoke, switch the proxy, watch the error rate, stop the old colour; automatic rollback')
  .option('--file <path>', 'the deploy file (docs/deploy.md)', 'rampart.deploy.json')
  .option('--allow-breaking-migrations', 'apply migrations marked not backward compatible while the old colour still serves')
  .option('--json', 'print the outcome and the step log as JSON at the end')
  .addHelpText('after', '\nExample:\n  rampart deploy --file /etc/rampart/deploy.json\n\nExit codes: 0 deployed, 1 refused or rolled back (the reason is printed), 2 bad deploy file.')
  .action(async (options: DeployCommandOptions) => (await import('./deploy.js')).deployCommand(options));

program
  .command('release')
  .description('print the release name error reports carry; with SENTRY_AUTH_TOKEN, create it in Sentry and upload the source maps of dist/')
  .option('--json', 'machine-readable output')
  .addHelpText('after', '\nExample:\n  SENTRY_AUTH_TOKEN=… SENTRY_ORG=acme SENTRY_PROJECT=rampart rampart release\n\nThe release is RAMPART_RELEASE, else the git commit the build was made from. Without\nSENTRY_AUTH_TOKEN it prints what it would do and sends nothing.\n\nExit codes: 0 done (or nothing to do without a token); 1 Sentry refused or could not be reached,\nor dist/ has no source maps; 2 invalid configuration (SENTRY_ORG or SENTRY_PROJECT missing).')
  .action(async (options: ReleaseOptions) => (await import('./release.js')).releaseCommand(options));

program
  .command('doctor')
  .description('audit a deployment before it goes live, with a score out of 100: the configuration (production guard, secret ages, backups, alerting, tracing) and, given a URL, TLS, certificate, headers, redirect, exposed endpoints, CORS, rate limits and readiness')
  .argument('[url]', 'the public address to check over the network (https://api.example.com)')
  .option('--config', 'audit the configuration from the environment too (the default without a URL)')
  .option('--http-url <url>', 'the plain-http address whose redirect to https is checked (default: the URL\'s host on port 80)')
  .option('--api-path <path>', 'an API route for the CORS and rate-limit checks', '/v1/me')
  .option('--deploy-dir <dir>', 'where prometheus/prometheus.yml and alertmanager/alertmanager.yml live', 'deploy')
  .option('--metrics-url <url>', 'where to read the backup_* metrics (default: http://HOST:METRICS_PORT/metrics)')
  .option('--timeout <ms>', 'give up on one probe after this long', '10000')
  .option('--resolve <host:address>', 'connect to this address for the host instead of asking DNS (a new site before DNS points at it)')
  .option('--json', 'machine-readable output')
  .addHelpText('after', '\nExamples:\n  rampart doctor https://api.example.com\n  rampart doctor https://api.example.com --resolve api.example.com:203.0.113.7\n  RAMPART_ENV=production DATABASE_URL=… rampart doctor --config --json\n\nExit codes: 0 no critical finding; 1 at least one critical finding; 2 bad usage (a\nmalformed URL or option). The score: 100 − 20 per critical − 5 per warning, at most 49\nwith any critical.')
  // Bad usage is exit 2 here, as documented, rather than commander's 1.
  .exitOverride((error: CommanderError) => {
    throw new CliExit(error.exitCode === 0 ? EXIT.ok : EXIT.badConfig, []);
  })
  .action(async (url: string | undefined, options: DoctorOptions) => (await import('./doctor.js')).doctorCommand(url, options));

program
  .command('config')
  .description('check the configuration from the environment, or print its reference')
  .option('--markdown', 'print the configuration reference as a Markdown table')
  .action(async (options: { markdown?: boolean }) => {
    if (options.markdown) {
      process.stdout.write(`${configMarkdownTable()}\n`);
      return;
    }
    const config = await resolveConfig();
    process.stdout.write(`configuration is valid (${config.env})\n`);
  });

program.parseAsync(process.argv).catch((caught: unknown) => {
  // `serve` and `worker` open the database inside startRampart, past openCommandDatabase.
  const err = caught instanceof DataDirInUse ? databaseInUseExit(caught) : caught;
  if (err instanceof CliExit) {
    if (err.lines.length > 0) process.stderr.write(`${err.lines.join('\n')}\n`);
    process.exit(err.code);
  }
  process.stderr.write(`rampart: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(EXIT.failure);
});
