import { readFileSync, readdirSync } from 'node:fs';

const readOrEmpty = (path: string) => {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return '';
  }
};

/**
 * Child processes of `pid` whose command line contains `commandPart`, running or exited and
 * not yet reaped (Linux's /proc). Synchronous, so a caller can count at the very moment a
 * promise settles, before the event loop turns.
 */
export function childProcessesMatching(pid: number, commandPart: string): number {
  return readdirSync(`/proc/${pid}/task`)
    .flatMap((task) => readOrEmpty(`/proc/${pid}/task/${task}/children`).split(' ').filter(Boolean))
    .filter((child) => readOrEmpty(`/proc/${child}/cmdline`).includes(commandPart)).length;
}
