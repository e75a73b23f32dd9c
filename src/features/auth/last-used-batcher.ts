/**
 * Collects "key X was used" in memory and writes the whole batch in one statement every
 * `intervalMs`, so authentication never costs a write per request. `last_used_at` is
 * therefore accurate to the interval; `close()` writes what is still pending.
 */
export interface LastUsedBatcher {
  touch(id: string, at?: Date): void;
  /** Writes the pending batch now (also what the timer does). */
  flush(): Promise<void>;
  /** Stops the timer and writes the pending batch. */
  close(): Promise<void>;
}

export interface LastUsedBatcherOptions {
  /** Sets `last_used_at = at` for every id. */
  write(ids: string[], at: Date): Promise<void>;
  intervalMs: number;
  onError(error: unknown): void;
}

// A flood of distinct keys must not grow memory without bound; past this, flush early.
const MAX_PENDING = 10_000;

export function createLastUsedBatcher(options: LastUsedBatcherOptions): LastUsedBatcher {
  let pending = new Set<string>();
  let latest = new Date(0);
  let inFlight: Promise<void> = Promise.resolve();

  const flush = (): Promise<void> => {
    if (pending.size === 0) return inFlight;
    const ids = [...pending];
    const at = latest;
    pending = new Set();
    // Writes run one after another, so a slow one never overtakes a newer batch.
    inFlight = inFlight.then(() => options.write(ids, at)).catch((error: unknown) => {
      // Advisory data: put the ids back for the next round rather than fail anything.
      for (const id of ids) pending.add(id);
      if (latest < at) latest = at;
      options.onError(error);
    });
    return inFlight;
  };

  const timer = setInterval(() => void flush(), options.intervalMs);
  timer.unref();

  return {
    touch(id, at = new Date()) {
      pending.add(id);
      if (at > latest) latest = at;
      if (pending.size >= MAX_PENDING) void flush();
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}
