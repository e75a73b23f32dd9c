/** Runs a task once a slot is free; a task whose `signal` aborts while it waits leaves the line at once. */
export type ConcurrencyGate = <T>(task: () => Promise<T>, signal?: AbortSignal) => Promise<T>;

/**
 * Runs at most `limit` tasks at once, the others in arrival order: CPU- or memory-heavy work
 * (argon2 hashes, document parsing) queues instead of piling up.
 */
export function concurrencyGate(limit: number): ConcurrencyGate {
  if (!(Number.isInteger(limit) && limit >= 1)) throw new Error(`concurrency must be a whole number ≥ 1, got ${limit}`);
  let running = 0;
  const waiting: Array<() => void> = [];
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else running--;
  };
  return async (task, signal) => {
    if (signal?.aborted) throw abortReason(signal);
    if (running < limit) running++;
    else {
      // A released slot passes straight to the next waiter, so `running` never overshoots.
      await new Promise<void>((resolve, reject) => {
        const turn = () => {
          signal?.removeEventListener('abort', leave);
          resolve();
        };
        const leave = () => {
          waiting.splice(waiting.indexOf(turn), 1);
          reject(abortReason(signal!));
        };
        waiting.push(turn);
        signal?.addEventListener('abort', leave, { once: true });
      });
    }
    try {
      return await task();
    } finally {
      release();
    }
  };
}

/** The abort's reason when it is an error, else a generic one. */
export function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}
