export interface DependencyStatus {
  configured: boolean;
  ok: boolean;
  details: string;
}

export interface DependencyCheck {
  name: string;
  /** A failing critical dependency makes readiness 503; a failing optional one only "degraded". */
  critical: boolean;
  check(): Promise<DependencyStatus>;
}

const CHECK_TIMEOUT_MS = 1_500;

/** Runs every check in parallel, each bounded, so one hung dependency cannot hang the probe. */
export async function runChecks(checks: readonly DependencyCheck[]): Promise<{ statuses: Record<string, DependencyStatus>; criticalOk: boolean; allOk: boolean }> {
  const results = await Promise.all(checks.map((c) => bounded(c)));
  const statuses: Record<string, DependencyStatus> = {};
  let criticalOk = true;
  let allOk = true;
  checks.forEach((c, i) => {
    const status = results[i] as DependencyStatus;
    statuses[c.name] = status;
    if (!status.ok) {
      allOk = false;
      if (c.critical) criticalOk = false;
    }
  });
  return { statuses, criticalOk, allOk };
}

async function bounded(c: DependencyCheck): Promise<DependencyStatus> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<DependencyStatus>((resolve) => {
    timer = setTimeout(() => resolve({ configured: true, ok: false, details: `error: no answer within ${CHECK_TIMEOUT_MS} ms` }), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([c.check().catch(() => ({ configured: true, ok: false, details: 'error: check failed' })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
