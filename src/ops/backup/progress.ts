/** Reports a long step: bytes done (and the total, when known). The CLI prints it; jobs ignore it. */
export interface Progress {
  update(phase: string, doneBytes: number, totalBytes?: number): void;
  done(phase: string): void;
}

export const silentProgress: Progress = { update() {}, done() {} };

/** Calls `tick` every `intervalMs` until the returned function is called. */
export function every(intervalMs: number, tick: () => void): () => void {
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
