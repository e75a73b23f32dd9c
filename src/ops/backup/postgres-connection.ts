import pg from 'pg';
import { BackupError } from './backup-error.js';

// Connections the backup commands open themselves (pg_dump's snapshot, restores, drills),
// outside the app's pool: one place that names them, scrubs their errors and listens to them.

export interface PostgresConnection {
  url: string;
  /** DATABASE_PASSWORD from the secrets chain; else the URL's own. */
  password?: string | undefined;
}

export async function connect(connection: PostgresConnection, applicationName = 'rampart-restore'): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: connection.url, password: connection.password, application_name: applicationName });
  // A connection lost mid-backup (PostgreSQL restarting) fails the running query, which fails
  // the backup or drill; pg also emits it as 'error', and unheard that would end the worker.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    throw new BackupError('failed', `cannot connect to ${describeDatabase(connection.url)}: ${scrub((error as Error).message, connection)}`);
  }
  return client;
}

/** `database on host:port`, never the credentials. */
export function describeDatabase(url: string): string {
  const parsed = new URL(url);
  return `database ${decodeURIComponent(parsed.pathname.slice(1)) || 'postgres'} on ${parsed.hostname}:${parsed.port || '5432'}`;
}

/** The URL without its password, and the password to hand libpq separately. */
export function libpqTarget(connection: PostgresConnection): { url: string; password: string | undefined } {
  const url = new URL(connection.url);
  const password = connection.password ?? (url.password ? decodeURIComponent(url.password) : undefined);
  url.password = '';
  return { url: url.toString(), password };
}

/** Removes the password from a message that may quote the connection string. */
export function scrub(message: string, connection: PostgresConnection): string {
  let result = message;
  const { password } = libpqTarget(connection);
  for (const secret of [password, connection.url]) if (secret) result = result.split(secret).join('***');
  return result;
}
