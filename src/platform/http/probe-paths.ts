// Load-balancer and orchestrator probes: never redirected, never shed, never rate limited.
export const PROBE_PATHS: ReadonlySet<string> = new Set(['/health', '/readiness']);

export const pathOf = (url: string): string => {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
};
