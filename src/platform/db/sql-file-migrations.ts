import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { sql, type Migration, type MigrationProvider } from 'kysely';

const MIGRATION_FILE = /^(\d{4}_[a-z0-9_]+)\.(up|down)\.sql$/;

// A misnamed file would otherwise be skipped silently and never run.
const misnamed = (file: string) => new Error(`migration file ${file} must be named NNNN_name.up.sql or NNNN_name.down.sql`);

/** The migrations' names (`NNNN_name`) in the order they apply, from their `.up.sql` files. */
export async function migrationNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  for (const file of (await readdir(dir)).sort()) {
    if (!file.endsWith('.sql')) continue;
    const match = MIGRATION_FILE.exec(file);
    if (!match) throw misnamed(file);
    if (match[2] === 'up') names.push(match[1]!);
  }
  return names;
}

/**
 * Reads `NNNN_name.up.sql` / `NNNN_name.down.sql` pairs from one folder.
 * Each file runs as one parameterless script, so it may hold several statements.
 */
export class SqlFileMigrationProvider implements MigrationProvider {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  async getMigrations(): Promise<Record<string, Migration>> {
    const scripts = new Map<string, { up?: string; down?: string }>();
    for (const file of (await readdir(this.#dir)).sort()) {
      if (!file.endsWith('.sql')) continue;
      const match = MIGRATION_FILE.exec(file);
      if (!match) throw misnamed(file);
      const [, name, direction] = match as unknown as [string, string, 'up' | 'down'];
      const pair = scripts.get(name) ?? {};
      pair[direction] = await readFile(path.join(this.#dir, file), 'utf8');
      scripts.set(name, pair);
    }

    const migrations: Record<string, Migration> = {};
    for (const [name, { up, down }] of scripts) {
      if (up === undefined) throw new Error(`migration ${name} has a down step but no ${name}.up.sql`);
      if (down === undefined) throw new Error(`migration ${name} has no ${name}.down.sql; every migration needs a tested down step`);
      migrations[name] = {
        up: async (db) => void (await sql.raw(up).execute(db)),
        down: async (db) => void (await sql.raw(down).execute(db)),
      };
    }
    return migrations;
  }
}
