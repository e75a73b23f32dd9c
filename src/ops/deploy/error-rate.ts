export interface RequestCounts {
  total: number;
  errors: number;
}

const SERIES = /^http_requests_total\{([^}]*)\}\s+([0-9.eE+]+)/;

/** Totals of `http_requests_total` from Prometheus text: all requests, and those answered 5xx. */
export function requestCounts(metricsText: string): RequestCounts {
  const counts = { total: 0, errors: 0 };
  for (const line of metricsText.split('\n')) {
    const match = SERIES.exec(line);
    if (!match) continue;
    const value = Number(match[2]);
    counts.total += value;
    if (/status="5\d\d"/.test(match[1]!)) counts.errors += value;
  }
  return counts;
}

/** Reads the counts from a metrics port; undefined when it does not answer. */
export async function fetchRequestCounts(url: string): Promise<RequestCounts | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return res.ok ? requestCounts(await res.text()) : undefined;
  } catch {
    return undefined;
  }
}
