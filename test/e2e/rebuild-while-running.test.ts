import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runCli } from '../support/rampart-process.js';

// `npx rampart` inside the repository installs the project into npm's cache, which runs its
// `prepare` script, and so rebuilds dist/ in place, while other processes run Rampart from it.
describe('rebuilding the bundle while Rampart starts from it', () => {
  it('never leaves an entry or a chunk missing: every CLI started during the rebuild works', async () => {
    const build = spawn(process.execPath, [join(repoRoot, 'scripts', 'bundle.mjs')], { cwd: repoRoot, stdio: 'ignore' });
    const built = new Promise<number | null>((resolve) => build.on('exit', resolve));
    const failures: string[] = [];
    let runs = 0;
    do {
      const { code, stderr } = await runCli(['--help']);
      runs += 1;
      if (code !== 0) failures.push(`exit ${code}: ${stderr.split('\n').find((line) => line.includes('Error')) ?? stderr.slice(0, 200)}`);
    } while (build.exitCode === null && build.signalCode === null);
    expect(await built).toBe(0);
    expect(runs).toBeGreaterThan(1);
    expect(failures).toEqual([]);
  }, 120_000);
});
