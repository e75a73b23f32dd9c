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
