import { execFile, spawn } from 'node:child_process';

export interface ToolResult {
  code: number;
  output: string;
}

/** Runs one of Debian's Prometheus tools (promtool, amtool) and returns its exit code and output. */
export function runTool(binary: string, args: string[], cwd?: string): Promise<ToolResult> {
  return new Promise((resolve) => {
    execFile(binary, args, { cwd, maxBuffer: 64 * 1024 * 1024, timeout: 240_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

export const PROMTOOL = '/usr/bin/promtool';
export const AMTOOL = '/usr/bin/amtool';
export const PROMETHEUS = '/usr/bin/prometheus';
export const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';

/** A Debian Prometheus-family server started by a test: its base URL, output, and stop. */
export interface ToolServer {
  url: string;
  output: () => string;
  stop(): Promise<void>;
}

/** Starts `binary` and waits until `readyPath` answers 200 (the servers' `/-/ready`). */
export async function startToolServer(binary: string, args: string[], url: string, readyPath = '/-/ready'): Promise<ToolServer> {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => { output += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { output += c.toString(); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${binary} exited with ${child.exitCode}:\n${output}`);
    const ready = await fetch(`${url}${readyPath}`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${binary} not ready within 60 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, output: () => output, stop };
}
