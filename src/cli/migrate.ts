import { migrateDown, migrateUp, migrationStatus } from '../platform/db/migrations.js';
import { openCommandDatabase, resolveConfig } from './bootstrap.js';

export type MigrateAction = 'up' | 'down' | 'status';

/** `rampart migrate [up|down|status]` against DATABASE_URL or the embedded database. */
export async function migrateCommand(action: MigrateAction, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const config = await resolveConfig();
  const database = await openCommandDatabase(config);
  try {
    const target = database.kind === 'pglite' ? `embedded PGlite (${config.dataDir})` : 'PostgreSQL (DATABASE_URL)';
    if (action === 'up') {
      const { applied } = await migrateUp(database);
      out.write(applied.length === 0 ? `${target}: already up to date\n` : applied.map((name) => `${target}: applied ${name}\n`).join(''));
    } else if (action === 'down') {
      const { reverted } = await migrateDown(database);
      out.write(reverted.length === 0 ? `${target}: nothing to revert\n` : reverted.map((name) => `${target}: reverted ${name}\n`).join(''));
    } else {
      const status = await migrationStatus(database);
      out.write(`${target}\n`);
      for (const m of status) out.write(`  ${m.applied ? 'applied' : 'pending'}  ${m.name}${m.appliedAt ? `  ${m.appliedAt.toISOString()}` : ''}\n`);
      const pending = status.filter((m) => !m.applied).length;
      out.write(`${status.length - pending} applied, ${pending} pending\n`);
    }
  } finally {
    await database.close();
  }
}
