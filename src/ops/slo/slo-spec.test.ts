import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../package-info.js';
import { parseSloSpec, SloSpecError, type SpecProblem } from './slo-spec.js';

const problemsOf = (text: string): SpecProblem[] => {
  try {
    parseSloSpec(text, 'team.slo.yaml');
  } catch (err) {
    if (err instanceof SloSpecError) return err.problems;
    throw err;
  }
  throw new Error('the spec was accepted');
};

const spec = (slos: string, head = 'version: 1\nwindow: 30d\n') => `${head}slos:\n${slos}`;

describe('SLO spec', () => {
  it('reads the shipped spec: 99.5 % availability, P95 < 1 s and P99 < 3 s over 30 days, probes left out', () => {
    const file = join(packageRoot, 'deploy', 'slo', 'rampart.slo.yaml');
    const parsed = parseSloSpec(readFileSync(file, 'utf8'), file);
    expect(parsed.window).toBe('30d');
    expect(parsed.slos.map((s) => [s.name, s.objective, s.budget, s.sli.metric, s.sli.thresholdSeconds])).toEqual([
      ['availability', 99.5, 0.005, 'http_requests_total', undefined],
      ['latency-p95', 95, 0.05, 'http_request_duration_seconds', 1],
      ['latency-p99', 99, 0.01, 'http_request_duration_seconds', 3],
    ]);
  });

  it('reads a team\'s SLOs for a route and for a job type, with their labels', () => {
    const parsed = parseSloSpec(spec(`  - name: uploads
    objective: 99.9
    labels: { team: documents }
    sli: { metric: http_requests_total, routes: [/v1/documents] }
  - name: extraction
    objective: 99
    sli: { metric: job_duration_seconds, threshold: 30s, job_types: [documents.extract-text] }
`), 'team.slo.yaml');
    expect(parsed.slos[0]).toMatchObject({ name: 'uploads', budget: 0.001, target: 0.999, labels: { team: 'documents' }, sli: { routes: ['/v1/documents'] } });
    expect(parsed.slos[1]).toMatchObject({ name: 'extraction', sli: { metric: 'job_duration_seconds', thresholdSeconds: 30, jobTypes: ['documents.extract-text'] } });
  });

  it('refuses an objective of 100 % or more with the line and the field', () => {
    const problems = problemsOf(spec(`  - name: availability
    objective: 100
    sli: { metric: http_requests_total }
`));
    expect(problems).toEqual([{ line: 5, column: 16, field: 'slos[0].objective', message: expect.stringContaining('must be below 100 %') }]);
  });

  it('refuses an objective so low the fastest burn alert could never fire', () => {
    const [problem] = problemsOf(spec('  - { name: loose, objective: 90, sli: { metric: http_requests_total } }\n'));
    expect(problem).toMatchObject({ line: 4, field: 'slos[0].objective', message: expect.stringContaining('at least 93.05555556 %') });
  });

  it('refuses an unknown metric, naming the ones an SLI can use', () => {
    const [problem] = problemsOf(spec(`  - name: availability
    objective: 99.5
    sli:
      metric: http_requests
`));
    expect(problem).toMatchObject({ line: 7, column: 15, field: 'slos[0].sli.metric', message: expect.stringContaining('unknown metric "http_requests"') });
    expect(problem!.message).toContain('http_requests_total');
  });

  it('refuses a window typo', () => {
    for (const typo of ['30dd', '30 days', '3od', '1d', '365d']) {
      const [problem] = problemsOf(spec('  - { name: a, objective: 99, sli: { metric: http_requests_total } }\n', `version: 1\nwindow: ${typo}\n`));
      expect(problem, typo).toMatchObject({ line: 2, column: 9, field: 'window' });
    }
  });

  it('refuses a latency threshold that is not a bucket bound, listing the bounds', () => {
    const [problem] = problemsOf(spec('  - { name: a, objective: 99, sli: { metric: http_request_duration_seconds, threshold: 750ms } }\n'));
    expect(problem).toMatchObject({ line: 4, field: 'slos[0].sli.threshold', message: expect.stringContaining('750ms is not a bucket bound') });
    expect(problem!.message).toContain('500ms, 1s, 2s, 3s');
  });

  it('refuses a misspelt field and suggests the right one', () => {
    const [problem] = problemsOf(spec(`  - name: a
    objective: 99
    sli: { metric: http_request_duration_seconds, treshold: 1s }
`));
    expect(problem).toMatchObject({ line: 6, field: 'slos[0].sli.treshold', message: 'unknown field; did you mean "threshold"?' });
  });

  it('reports every problem at once, each with its own line', () => {
    const problems = problemsOf(`version: 1
window: 30days
slos:
  - name: Availability
    objective: 100.5
    sli: { metric: jobs_processed_total, routes: [/v1/x] }
  - name: b
    objective: 99
    sli: { metric: http_requests_total, threshold: 1s, job_types: [x] }
`);
    expect(problems.map((p) => [p.line, p.field])).toEqual([
      [2, 'window'],
      [4, 'slos[0].name'],
      [5, 'slos[0].objective'],
      [6, 'slos[0].sli.routes'],
      [9, 'slos[1].sli.threshold'],
      [9, 'slos[1].sli.job_types'],
    ]);
  });

  it('refuses duplicate SLO names, reserved labels and broken YAML', () => {
    expect(problemsOf(spec('  - { name: a, objective: 99, sli: { metric: http_requests_total } }\n  - { name: a, objective: 99.9, sli: { metric: http_requests_total } }\n'))).toEqual([
      expect.objectContaining({ line: 5, field: 'slos[1].name', message: '"a" is already the name of slos[0]' }),
    ]);
    expect(problemsOf(spec('  - { name: a, objective: 99, labels: { severity: low }, sli: { metric: http_requests_total } }\n'))[0]).toMatchObject({ field: 'slos[0].labels.severity' });
    expect(problemsOf('version: 1\nslos: [\n')[0]).toMatchObject({ field: '(yaml)', line: expect.any(Number) });
  });
});
