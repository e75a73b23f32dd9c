import { runCli } from './rampart-process.js';

export interface DoctorFinding { id: string; severity: 'critical' | 'warning' | 'info'; message: string; fix: string; docs: string }
export interface DoctorReport { score: number; counts: Record<string, number>; checked: string[]; findings: DoctorFinding[]; targets: { url?: string; config?: boolean } }

/** `rampart doctor … --json`: its exit code and parsed report; fails the test with both outputs when it printed no JSON. */
export async function runDoctor(args: string[], env: Record<string, string | undefined>): Promise<{ code: number | null; report: DoctorReport; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await runCli(['doctor', ...args, '--json'], env);
  let report: DoctorReport;
  try {
    report = JSON.parse(stdout) as DoctorReport;
  } catch {
    throw new Error(`doctor printed no JSON (exit ${code}):\n${stdout}\n${stderr}`);
  }
  return { code, report, stdout, stderr };
}
