import type { Progress } from '../ops/backup/progress.js';

/**
 * Progress of a long step on stderr: one rewritten line (bytes, rate, ETA) on a terminal,
 * one JSON object per second otherwise, so scripts and log collectors can follow it.
 */
export function cliProgress(stream: NodeJS.WriteStream = process.stderr, now: () => number = Date.now): Progress {
  const started = new Map<string, number>();
  let lastWrite = 0;
  const tty = stream.isTTY === true;
  const report = (phase: string, bytes: number, total: number | undefined, final: boolean) => {
    const start = started.get(phase) ?? now();
    const seconds = Math.max((now() - start) / 1000, 0.001);
    const rate = bytes / seconds;
    const eta = total !== undefined && rate > 0 ? Math.max(0, (total - bytes) / rate) : undefined;
    if (!tty) {
      stream.write(`${JSON.stringify({ progress: phase, bytes, ...(total !== undefined ? { total_bytes: total } : {}), rate_bytes_per_s: Math.round(rate), ...(eta !== undefined ? { eta_s: Math.round(eta) } : {}), ...(final ? { done: true } : {}) })}\n`);
      return;
    }
    const parts = [`${phase}: ${mib(bytes)}${total !== undefined ? ` of ${mib(total)}` : ''}`, `${mib(rate)}/s`];
    if (eta !== undefined && !final) parts.push(`ETA ${Math.round(eta)} s`);
    stream.write(`\r\x1b[2K${parts.join('  ')}${final ? '\n' : ''}`);
  };
  const last = new Map<string, { bytes: number; total?: number }>();
  return {
    update(phase, bytes, total) {
      if (!started.has(phase)) started.set(phase, now());
      last.set(phase, { bytes, total });
      if (now() - lastWrite < 1_000) return;
      lastWrite = now();
      report(phase, bytes, total, false);
    },
    done(phase) {
      const seen = last.get(phase);
      if (seen) report(phase, seen.bytes, seen.total, true);
      started.delete(phase);
      last.delete(phase);
    },
  };
}

export const mib = (bytes: number): string => `${(bytes / 1_048_576).toFixed(1)} MiB`;
