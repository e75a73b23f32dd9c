#!/usr/bin/env node
import { Command, Argument } from 'commander';
import { packageVersion } from '../package-info.js';
import { CliExit, EXIT, resolveConfig } from './bootstrap.js';
import { configMarkdownTable } from './config-table.js';
import type { MigrateAction } from './migrate.js';
import type { ServeOptions } from './serve.js';

// Commands load their modules on use: `--help` and `config` stay instant.

const program = new Command()
  .name('rampart')
  .description('A production-hardened backend platform: web, worker and operations in one package.')
  .version(packageVersion);

program
  .command('serve')
  .description('run the web process (public HTTP port + internal metrics port)')
  .option('--with-worker', 'also run the worker in this process (what `npm start` does)')
  .option('--plugin <module...>', 'load extra route plugins (modules default-exporting a Fastify plugin)')
  .action(async (options: ServeOptions) => (await import('./serve.js')).serveCommand(options));

program.command('worker').description('run the background worker').action(async () => (await import('./worker.js')).workerCommand());

program
  .command('migrate')
  .description('apply, revert or list database migrations (DATABASE_URL, or the embedded database)')
  .addArgument(new Argument('[action]', 'what to do').choices(['up', 'down', 'status']).default('up'))
  .action(async (action: MigrateAction) => (await import('./migrate.js')).migrateCommand(action));

const secrets = program.command('secrets').description('inspect and rotate secrets without downtime');
secrets
  .command('rotate')
  .description('rotate a secret (jwt-signing-key, field-encryption-key, api-key-pepper); running instances pick it up at their next refresh or on SIGHUP')
  .argument('<name>', 'the secret to rotate')
  .action(async (name: string) => (await import('./secrets-rotate.js')).secretsRotateCommand(name));
secrets
  .command('audit')
  .description('each secret\'s source, version and age against the rotation policy; exit 1 when any is overdue (never prints values)')
  .option('--json', 'machine-readable output')
  .action(async (options: { json?: boolean }) => (await import('./secrets-audit.js')).secretsAuditCommand(options));

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

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CliExit) {
    if (err.lines.length > 0) process.stderr.write(`${err.lines.join('\n')}\n`);
    process.exit(err.code);
  }
  process.stderr.write(`rampart: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(EXIT.failure);
});
