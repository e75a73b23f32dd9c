/** One line of `rampart secrets audit`. Never a value: names, sources, versions and times only. */
export interface SecretAge {
  name: string;
  source: string;
  version: string | null;
  changed_at: string | null;
  age_days: number | null;
  policy_days: number | null;
  /** null when the age is unknown (a provider without change times) or no policy applies. */
  overdue: boolean | null;
  /** The provider also holds a previous generation (Secrets Manager's AWSPREVIOUS): its stage and version, never its value. */
  previous?: { stage: string; version: string | null };
  note?: string;
}

export interface AgePolicy {
  jwtDays: number;
  encryptionKeyDays: number;
  apiKeyDays: number;
  databasePasswordDays: number;
}

/** Which policy a secret falls under (SEC-4); secrets outside these have none. */
export function policyDaysFor(name: string, policy: AgePolicy): number | null {
  switch (name) {
    case 'jwt-signing-key':
      return policy.jwtDays;
    case 'FIELD_ENCRYPTION_KEYS':
    case 'APP_SECRET':
      return policy.encryptionKeyDays;
    case 'API_KEY_PEPPER':
    case 'api-keys':
      return policy.apiKeyDays;
    case 'DATABASE_PASSWORD':
    case 'DATABASE_URL':
      return policy.databasePasswordDays;
    default:
      return null;
  }
}

const DAY_MS = 86_400_000;

export function ageOf(
  entry: { name: string; source: string; version?: string | undefined; changedAt?: Date | undefined; previous?: { stage: string; version?: string | undefined } | undefined; note?: string },
  policy: AgePolicy,
  now: Date,
): SecretAge {
  const policyDays = policyDaysFor(entry.name, policy);
  const ageDays = entry.changedAt ? Math.floor((now.getTime() - entry.changedAt.getTime()) / DAY_MS) : null;
  return {
    name: entry.name,
    source: entry.source,
    version: entry.version ?? null,
    changed_at: entry.changedAt?.toISOString() ?? null,
    age_days: ageDays,
    policy_days: policyDays,
    overdue: ageDays === null || policyDays === null ? null : ageDays > policyDays,
    ...(entry.previous ? { previous: { stage: entry.previous.stage, version: entry.previous.version ?? null } } : {}),
    ...(entry.note ? { note: entry.note } : {}),
  };
}

/**
 * When the current field-encryption key was made, from its kid (`kYYYYMMDDTHHMMSS-…`, as
 * `rampart secrets rotate` and development generate them): a provider like `env` gives no
 * change time, but the kid still dates the key.
 */
export function fieldKeyCreatedAt(serialised: string): { kid: string; createdAt: Date | undefined } {
  const kid = serialised.split(',')[0]?.split(':')[0]?.trim() ?? '';
  const match = /^k(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})-/.exec(kid);
  const createdAt = match ? new Date(Date.UTC(+match[1]!, +match[2]! - 1, +match[3]!, +match[4]!, +match[5]!, +match[6]!)) : undefined;
  return { kid, createdAt };
}

/** Plain-text table for a terminal. */
export function formatAudit(rows: readonly SecretAge[]): string {
  const header = ['SECRET', 'SOURCE', 'VERSION', 'CHANGED', 'AGE', 'POLICY', 'STATUS'];
  const lines = rows.map((r) => [
    r.name,
    r.source,
    `${r.version ?? '-'}${r.previous ? ` +${r.previous.stage}` : ''}`,
    r.changed_at ? r.changed_at.slice(0, 10) : 'unknown',
    r.age_days === null ? 'unknown' : `${r.age_days} d`,
    r.policy_days === null ? '-' : `${r.policy_days} d`,
    r.overdue === true ? 'OVERDUE' : r.overdue === false ? 'ok' : r.note ?? '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  return [header, ...lines].map((cells) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
