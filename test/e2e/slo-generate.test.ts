import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROMTOOL, runTool } from '../support/prometheus-tools.js';
import { repoRoot, runCli } from '../support/rampart-process.js';

const TEAM_SPEC = `version: 1
window: 28d
runbooks: https://runbooks.example.com/rampart
slos:
  - name: availability
    objective: 99.5
    sli: { metric: http_requests_total }
  - name: documents-upload
    description: Uploads stored without a server error.
    objective: 99.9
    labels: { team: documents }
    sli: { metric: http_requests_total, routes: [/v1/documents] }
  - name: documents-latency
    objective: 99
    labels: { team: documents }
    sli: { metric: http_request_duration_seconds, threshold: 500ms, routes: [/v1/documents, /v1/documents/:id] }
  - name: extraction-success
    objective: 99
    sli: { metric: jobs_processed_total, job_types: [documents.extract-text] }
  - name: extraction-latency
    objective: 95
    labels: { team: documents }
    sli: { metric: job_duration_seconds, threshold: 30s, job_types: [documents.extract-text] }
`;

describe('rampart slo generate', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rampart-slo-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes rules and promtool tests for a team\'s SLOs (per route, per job type) that promtool checks and passes', async () => {
    const specFile = join(dir, 'team.slo.yaml');
    await writeFile(specFile, TEAM_SPEC);
    const out = join(dir, 'team');
    const run = await runCli(['slo', 'generate', '--spec', specFile, '--out', out, '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ slos: ['availability', 'documents-upload', 'documents-latency', 'extraction-success', 'extraction-latency'], outputs: [{ dir: out, files: ['slo.rules.yml', 'slo.test.yml'] }] });

    const rules = await readFile(join(out, 'slo.rules.yml'), 'utf8');
    for (const name of ['slo:availability:ratio', 'slo:error_rate:ratio', 'slo:latency:p99', 'slo:latency:p95', 'slo:error_budget:remaining', 'slo:sli_error:ratio_rate28d'])
      expect(rules).toContain(`record: ${name}\n`);
    for (const window of ['5m', '30m', '1h', '2h', '6h', '1d', '3d']) expect(rules).toContain(`record: slo:burn_rate:${window}\n`);
    expect(rules).toContain('route=~"/v1/documents|/v1/documents/:id",le="0.5"');
    expect(rules).toContain('jobs_processed_total{type=~"documents\\\\.extract-text",outcome="dead"}');
    expect(rules).toContain('runbook_url: https://runbooks.example.com/rampart/SLOBudgetBurn1h.md');

    const check = await runTool(PROMTOOL, ['check', 'rules', 'slo.rules.yml'], out);
    expect(check.output).toContain('SUCCESS');
    const tests = await runTool(PROMTOOL, ['test', 'rules', 'slo.test.yml'], out);
    expect(tests.output).toContain('SUCCESS');
    expect(tests.code).toBe(0);
    // Five SLOs × four alerts × (fires, stays quiet).
    expect((await readFile(join(out, 'slo.test.yml'), 'utf8')).match(/^ {2}- name: /gm)).toHaveLength(40);
  }, 300_000);

  it('refuses a malformed spec with the file, line and field, and writes nothing', async () => {
    const specFile = join(dir, 'bad.slo.yaml');
    await writeFile(specFile, 'version: 1\nwindow: 30days\nslos:\n  - name: availability\n    objective: 100\n    sli: { metric: http_requests }\n');
    const out = join(dir, 'bad-out');
    const run = await runCli(['slo', 'generate', '--spec', specFile, '--out', out]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${specFile}:2:9: window: "30days" is not a window`);
    expect(run.stderr).toContain(`${specFile}:5:16: slos[0].objective: 100 % leaves no error budget`);
    expect(run.stderr).toContain(`${specFile}:6:20: slos[0].sli.metric: unknown metric "http_requests"`);
    expect(run.stdout).toBe('');
    await expect(readdir(out)).rejects.toThrow(/ENOENT/);
  });

  it('refuses to replace a directory it did not write, and leaves it as it was', async () => {
    const out = join(dir, 'hand-written');
    await mkdir(out);
    await writeFile(join(out, 'alerts.rules.yml'), 'groups: []\n');
    const run = await runCli(['slo', 'generate', '--spec', join(repoRoot, 'deploy/slo/rampart.slo.yaml'), '--out', out]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('refusing to replace');
    expect(await readdir(out)).toEqual(['alerts.rules.yml']);
  });

  it('--check exits 1 when the output drifted from the spec, 0 when in step', async () => {
    const out = join(dir, 'checked');
    const spec = join(repoRoot, 'deploy/slo/rampart.slo.yaml');
    expect((await runCli(['slo', 'generate', '--spec', spec, '--out', out])).code).toBe(0);
    expect((await runCli(['slo', 'generate', '--spec', spec, '--out', out, '--check'])).code).toBe(0);
    await writeFile(join(out, 'slo.rules.yml'), (await readFile(join(out, 'slo.rules.yml'), 'utf8')).replace('> 14.4', '> 20'));
    const drifted = await runCli(['slo', 'generate', '--spec', spec, '--out', out, '--check']);
    expect(drifted.code).toBe(1);
    expect(drifted.stderr).toContain('slo.rules.yml (differs)');
  });
});
