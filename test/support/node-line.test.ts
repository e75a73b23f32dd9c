import { execFile } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// CI runs the suite once per supported Node.js line (.ci/run). Tests start Rampart with
// process.execPath, but `npx rampart` and every `#!/usr/bin/env node` script find `node` on
// PATH: if that were another line, those tests would check the wrong Node.
describe('the Node.js line under test', () => {
  it('is the one a child process started by name finds on PATH', async () => {
    const script = 'console.log(JSON.stringify({ version: process.version, execPath: process.execPath }))';
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile('/usr/bin/env', ['node', '-e', script], { env: { PATH: process.env.PATH } }, (error, out) => (error ? reject(error) : resolve(out))),
    );
    const child = JSON.parse(stdout) as { version: string; execPath: string };
    expect({ version: child.version, execPath: realpathSync(child.execPath) }).toEqual({ version: process.version, execPath: realpathSync(process.execPath) });
  });
});
