import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { METRIC_CATALOGUE } from '../../src/ops/observability/metric-catalogue.js';
import { freePort } from '../support/private-postgres.js';
import { PROMETHEUS, startToolServer, type ToolServer } from '../support/prometheus-tools.js';
import { fixturePlugin, repoRoot, send, startRampart, type RampartProcess } from '../support/rampart-process.js';

const OK = 300;
const FAILED = 100;
const PROBES = 200;

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

describe('SLO rules in the real Prometheus, scraping a running Rampart', () => {
  let rampart: RampartProcess;
  let prometheus: ToolServer;
  let dir: string;

  const query = async (expr: string): Promise<Sample[]> => {
    const res = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; data: { result: Sample[] } };
    expect(body.status).toBe('success');
    return body.data.result;
  };
  const valueOf = async (expr: string): Promise<number | undefined> => {
    const [sample] = await query(expr);
    return sample ? Number(sample.value[1]) : undefined;
  };

  beforeAll(async () => {
    rampart = await startRampart({
      args: ['serve', '--with-worker', '--plugin', fixturePlugin],
      // Limits on (so their metrics exist) but far above this test's traffic.
      env: {
        RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_GENERAL_PER_MIN: '100000', RATE_LIMIT_API_PER_MIN: '100000',
        // With the real Redis its metrics exist too; embedded runs have none to export.
        REDIS_URL: process.env.TEST_REDIS_URL,
        REDIS_KEY_PREFIX: `rampart-slo-${process.pid}:`,
      },
    });
    // Every series exists before the first scrape, so rates count exactly the traffic below.
    expect((await rampart.request('/test/items/warm-up')).status).toBe(200);
    expect((await rampart.request('/test/boom')).status).toBe(500);
    expect((await rampart.request('/health')).status).toBe(200);

    dir = await mkdtemp(join(tmpdir(), 'rampart-prometheus-'));
    // The generated rules as committed; only the long-window group's 2-minute interval is
    // dropped, so every group follows the 1 s evaluation interval of this test.
    const rules = parse(await readFile(join(repoRoot, 'deploy/prometheus/slo/slo.rules.yml'), 'utf8')) as { groups: Array<{ interval?: string }> };
    for (const group of rules.groups) delete group.interval;
    await writeFile(join(dir, 'slo.rules.yml'), stringify(rules, { lineWidth: 0 }));
    const metrics = new URL(rampart.metricsUrl);
    await writeFile(join(dir, 'prometheus.yml'), stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: ['slo.rules.yml'],
      scrape_configs: [{ job_name: 'rampart-web', static_configs: [{ targets: [metrics.host] }] }],
    }));
    const port = await freePort();
    prometheus = await startToolServer(PROMETHEUS, [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ], `http://127.0.0.1:${port}`);
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
    await rampart?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('slo:availability:ratio and slo:error_rate:ratio answer what the traffic implies; probes are not counted', async () => {
    await expect.poll(() => valueOf('http_requests_total{job="rampart-web",route="/test/boom"}'), { timeout: 30_000, interval: 500 }).toBe(1);
    for (let i = 0; i < OK; i++) expect((await rampart.request(`/test/items/${i}`)).status).toBe(200);
    for (let i = 0; i < FAILED; i++) expect((await rampart.request('/test/boom')).status).toBe(500);
    for (let i = 0; i < PROBES; i++) await rampart.request(i % 2 === 0 ? '/health' : '/readiness');

    const errorShare = FAILED / (OK + FAILED);
    // Counters of one target share their scrape times, so the rate ratio is the event ratio up to
    // the extrapolation of the last partial scrape interval.
    await expect.poll(() => valueOf('slo:error_rate:ratio{slo="availability"}'), { timeout: 60_000, interval: 1_000 }).toBeCloseTo(errorShare, 2);
    await expect.poll(() => valueOf('slo:availability:ratio{slo="availability"}'), { timeout: 15_000, interval: 500 }).toBeCloseTo(1 - errorShare, 2);
    await expect.poll(() => valueOf('slo:burn_rate:5m{slo="availability"}'), { timeout: 15_000, interval: 500 }).toBeCloseTo(errorShare / 0.005, 0);
    await expect.poll(() => valueOf('slo:error_budget:remaining{slo="availability"}'), { timeout: 15_000, interval: 500 }).toBeCloseTo(1 - errorShare / 0.005, 0);
    // All requests took far less than a second: nothing spent of the latency budgets. Every
    // rule group is evaluated at its own offset, so each value is polled, not read once.
    await expect.poll(() => valueOf('slo:sli_error:ratio_rate5m{slo="latency-p95"}'), { timeout: 15_000, interval: 500 }).toBe(0);
    await expect.poll(() => valueOf('slo:latency:p95{slo="latency-p95"}'), { timeout: 15_000, interval: 500 }).toBeLessThan(1);
    await expect.poll(() => valueOf('slo:objective:ratio{slo="availability"}'), { timeout: 15_000, interval: 500 }).toBe(0.995);
  }, 120_000);

  it('Rampart exports every metric the catalogue says it exports', async () => {
    const text = (await send(rampart.metricsUrl)).body;
    const exported = METRIC_CATALOGUE.find((s) => s.source === 'rampart')!.metrics.filter((m) => m.status === 'exported' && (process.env.TEST_REDIS_URL || !m.name.startsWith('redis_')));
    for (const m of exported) expect(text, m.name).toContain(`# TYPE ${m.name} ${m.type}`);
    // And nothing it exports that the catalogue calls planned: the catalogue must move with the code.
    for (const m of METRIC_CATALOGUE.find((s) => s.source === 'rampart')!.metrics.filter((x) => x.status === 'planned')) {
      if (text.includes(`# TYPE ${m.name} `)) throw new Error(`${m.name} is exported now: mark it exported in src/ops/observability/metric-catalogue.ts`);
    }
  });
});
