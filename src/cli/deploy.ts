import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { deployBlueGreen, type MigrationGate } from '../ops/deploy/blue-green.js';
import { DeployFileError, loadDeployFile, type DeployFile } from '../ops/deploy/deploy-file.js';
import { migrateUp, migrationStatus } from '../platform/db/migrations.js';
import { migrationsDir } from '../platform/db/template-paths.js';
import { CliExit, EXIT, openCommandDatabase, resolveRuntime } from './bootstrap.js';

export interface DeployCommandOptions {
  file: string;
  allowBreakingMigrations?: boolean;
  json?: boolean;
}

// A migration whose up file carries this line cannot run while the previous release serves
// (it drops or renames what that release reads).
const NOT_BACKWARD_COMPATIBLE = /^--\s*rampart:\s*not-backward-compatible\b/m;

/** `rampart deploy`: blue-green behind nginx or Caddy, as the deploy file describes (docs/deploy.md). */
export async function deployCommand(options: DeployCommandOptions, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  let file: DeployFile;
  try {
    file = await loadDeployFile(options.file);
  } catch (err) {
    if (err instanceof DeployFileError) throw new CliExit(EXIT.badConfig, [`rampart deploy: ${err.message}`]);
    throw err;
  }
  const lines: string[] = [];
  const log = (line: string) => {
    lines.push(line);
    if (!options.json) out.write(`${line}\n`);
  };
  const outcome = await deployBlueGreen({
    file,
    allowBreakingMigrations: options.allowBreakingMigrations === true,
    migrations: file.migrate ? databaseMigrations(file.migrationsDir ?? migrationsDir()) : undefined,
    defaultBackup: `${quote(process.execPath)} ${quote(process.argv[1] ?? 'rampart')} backup --label pre-deploy`,
    env: process.env,
    log,
  });
  if (options.json) out.write(`${JSON.stringify({ ...outcome, log: lines }, null, 2)}\n`);
  if (!outcome.ok) throw new CliExit(EXIT.failure, []);
}

/** Migrations against the database this process is configured for (DATABASE_URL). */
function databaseMigrations(dir: string): MigrationGate {
  const withDatabase = async <T>(work: (database: Awaited<ReturnType<typeof openCommandDatabase>>) => Promise<T>): Promise<T> => {
    const { config, secrets } = await resolveRuntime();
    const database = await openCommandDatabase(config, secrets);
    try {
      return await work(database);
    } finally {
      await database.close();
    }
  };
  return {
    pending: () => withDatabase(async (database) => {
      const pending = (await migrationStatus(database, { dir })).filter((m) => !m.applied);
      return Promise.all(pending.map(async ({ name }) => ({ name, breaking: NOT_BACKWARD_COMPATIBLE.test(await readFile(path.join(dir, `${name}.up.sql`), 'utf8')) })));
    }),
    apply: () => withDatabase(async (database) => (await migrateUp(database, { dir })).applied),
  };
}

const quote = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;
