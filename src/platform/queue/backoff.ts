/**
 * Delay before retry number `attempt` (1 = the first retry): exponential from `baseMs`, capped
 * at `maxMs`, with "equal jitter": half the delay is fixed, half random. The fixed half keeps a
 * failing job from hammering a dependency; the random half spreads a burst of failures (a
 * dependency that was down for everyone) so the retries do not all land at once.
 */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + random() * (exponential / 2));
}
