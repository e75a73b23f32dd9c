/**
 * `critical`: not fit to go live (production would refuse it, or an attacker gains from it);
 * `warning`: a control is missing or weakened; `info`: worth knowing, no risk on its own.
 */
export type Severity = 'critical' | 'warning' | 'info';

/** One thing `rampart doctor` found: never a secret's value. */
export interface Finding {
  /** Stable, for scripts: `tls-legacy-version`, `docs-public`… */
  id: string;
  severity: Severity;
  /** One line: what is wrong, where. */
  message: string;
  /** One line: what to change. */
  fix: string;
  /** The README section that explains the control (`README.md#anchor`). */
  docs: DocsLink;
}

/** Every README section a finding points to: one list, so a test checks each anchor exists. */
export const DOCS = {
  httpBehaviour: 'README.md#http-behaviour',
  rateLimits: 'README.md#rate-limits',
  operations: 'README.md#operations',
  observability: 'README.md#observability',
  alerts: 'README.md#alerts',
  secrets: 'README.md#secrets',
  configuration: 'README.md#configuration',
  severalInstances: 'README.md#running-several-instances',
  storage: 'README.md#storage',
  backups: 'README.md#backups-and-recovery',
  deploying: 'README.md#deploying',
  doctor: 'README.md#rampart-doctor',
} as const;

export type DocsLink = (typeof DOCS)[keyof typeof DOCS];

const SEVERITY_ORDER: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

export function bySeverity(a: Finding, b: Finding): number {
  return SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity];
}

export const POINTS = { critical: 20, warning: 5, info: 0 } as const;

/**
 * 100 minus 20 per critical and 5 per warning finding (info costs nothing), never below 0;
 * any critical finding caps the score at 49, so a deployment that must not go live never
 * scores as if it could.
 */
export function scoreOf(findings: readonly Finding[]): number {
  const lost = findings.reduce((sum, f) => sum + POINTS[f.severity], 0);
  const score = Math.max(0, 100 - lost);
  return findings.some((f) => f.severity === 'critical') ? Math.min(score, 49) : score;
}
