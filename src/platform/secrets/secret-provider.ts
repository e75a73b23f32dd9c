/** One secret as a provider holds it. `version` and `changedAt` feed `rampart secrets audit`. */
export interface SecretEntry {
  value: string;
  /** The provider's own version label (SSM parameter version, Secrets Manager VersionId, file mtime). */
  version?: string | undefined;
  changedAt?: Date | undefined;
  /**
   * The generation before this one, when the provider keeps it (Secrets Manager's
   * `AWSPREVIOUS`). Never used as the current value: consumers that can fall back during a
   * rotation (the database password) ask for it explicitly.
   */
  previous?: PreviousSecretEntry | undefined;
}

/** An earlier generation of a secret, named by the provider's stage label. */
export interface PreviousSecretEntry {
  value: string;
  version?: string | undefined;
  changedAt?: Date | undefined;
  /** The provider's name for this generation (`AWSPREVIOUS`). */
  stage: string;
}

/**
 * A place secrets come from. `load` returns every secret it holds under its config key
 * (`APP_SECRET`), already filtered to the keys Rampart knows. Providers that can be written
 * to (`rampart secrets rotate`) implement `write`.
 */
export interface SecretProvider {
  readonly name: string;
  load(): Promise<Map<string, SecretEntry>>;
  write?(key: string, value: string): Promise<{ version?: string | undefined }>;
}

/**
 * The config key a provider's name maps to: the last path segment, upper-cased, with `-` and
 * `.` as `_`. `/rampart/production/app_secret`, `app-secret` and `APP_SECRET` all give
 * `APP_SECRET`. Undefined when Rampart does not know the key (ignored, never an error:
 * a shared path may hold other applications' parameters).
 */
export function secretKeyFor(name: string, known: ReadonlySet<string>): string | undefined {
  const last = name.split('/').filter(Boolean).at(-1) ?? '';
  const key = last.toUpperCase().replace(/[-.]/g, '_');
  return known.has(key) ? key : undefined;
}
