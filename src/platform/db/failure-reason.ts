const MAX_REASON_LENGTH = 160;

/**
 * A short, operator-facing reason for a database failure that is safe to show on a health
 * endpoint or in a log: no URL, host, user name or password.
 *
 * `secrets` are strings to blank out if a driver ever echoes them (the URL, its password).
 */
export function describeDatabaseFailure(error: unknown, secrets: readonly string[] = []): string {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
  // Socket errors name the host and port ("connect ECONNREFUSED 10.0.0.5:5432"); the code says enough.
  if (code && /^E[A-Z]+$/.test(code)) return code;
  // SQLSTATE class 28 messages name the user ("password authentication failed for user …").
  if (code?.startsWith('28')) return `authentication failed (${code})`;

  let message = error instanceof Error ? error.message : String(error);
  message = message.split('\n', 1)[0] ?? '';
  for (const secret of secrets) {
    if (secret) message = message.split(secret).join('***');
  }
  if (message.length > MAX_REASON_LENGTH) message = `${message.slice(0, MAX_REASON_LENGTH - 1)}…`;
  return message || 'unknown error';
}

/** The password a connection URL carries, decoded; undefined when it has none or is not a URL. */
export function passwordInUrl(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}

/** The parts of a connection URL that must never appear in messages. */
export function secretsOf(url: string): string[] {
  const secrets = [url];
  try {
    const { password } = new URL(url);
    if (password) secrets.push(password, decodeURIComponent(password));
  } catch {
    // An unparsable URL is still blanked out as a whole.
  }
  return secrets;
}

/**
 * No connection to the database could be had: refused, timed out, the password refused (after
 * the retries a rotation gets), no connection slot left, the server starting or shutting down.
 * Whatever the query was, it never reached the database. `message` is already safe to show
 * (see describeDatabaseFailure); the driver's error is the cause.
 */
export class DatabaseUnavailableError extends Error {
  override readonly name = 'DatabaseUnavailableError';
  readonly code: string | undefined;
  constructor(reason: string, options: { cause: unknown }) {
    super(reason, options);
    const code = (options.cause as { code?: unknown } | undefined)?.code;
    this.code = typeof code === 'string' ? code : undefined;
  }
}

const CONNECTION_LOST = Symbol('rampart.databaseConnectionLost');

/**
 * Marks an error pg raised because a checked-out connection broke (reset, server gone): the
 * same error fails the running query, which then reads as an outage, whatever its code.
 */
export function markConnectionLost(error: unknown): void {
  if (typeof error === 'object' && error !== null && Object.isExtensible(error)) Object.defineProperty(error, CONNECTION_LOST, { value: true });
}

// SQLSTATE classes that say the server cannot serve, whatever the query: connection exceptions
// (08), insufficient resources (53: too many connections, disk full, out of memory), and the
// server shutting down, crashing or still starting (57P01-57P03).
const OUTAGE_SQLSTATE = /^(08...|53...|57P0[123])$/;

/** The database is down for this request (not a bug, not the client's fault): its reason, safe to log; undefined for any other error. */
export function databaseOutage(error: unknown): { slug: 'database-unavailable'; dependency: 'database'; reason: string } | undefined {
  if (error instanceof DatabaseUnavailableError) return { slug: 'database-unavailable', dependency: 'database', reason: error.message };
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, severity } = error as { code?: unknown; severity?: unknown };
  // A server's error (it has a severity) of an outage class, or the connection lost mid-query.
  const fromServer = typeof severity === 'string' && typeof code === 'string' && OUTAGE_SQLSTATE.test(code);
  return fromServer || CONNECTION_LOST in error ? { slug: 'database-unavailable', dependency: 'database', reason: describeDatabaseFailure(error) } : undefined;
}
