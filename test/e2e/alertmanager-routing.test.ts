import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { freePort } from '../support/private-postgres.js';
import { ALERTMANAGER, startToolServer, type ToolServer } from '../support/prometheus-tools.js';
import { repoRoot } from '../support/rampart-process.js';

interface Notification {
  receiver: string;
  alerts: Array<{ labels: Record<string, string>; status: string }>;
}

interface Route {
  receiver?: string;
  group_wait?: string;
  group_interval?: string;
  routes?: Route[];
}

/**
 * The shipped configuration with only what cannot run here changed: every receiver becomes a
 * webhook to this test (named like the receiver), the credential files go, and the waits
 * shrink to a second. Routes, matchers, grouping and inhibitions stay as shipped.
 */
async function testVariant(webhook: string): Promise<string> {
  const config = parse(await readFile(join(repoRoot, 'deploy/alertmanager/alertmanager.yml'), 'utf8')) as { global: Record<string, unknown>; route: Route; receivers: Array<{ name: string }> };
  config.global = { resolve_timeout: config.global.resolve_timeout };
  config.receivers = config.receivers.map((r) => ({ name: r.name, webhook_configs: [{ url: `${webhook}/${r.name}`, send_resolved: false }] }));
  const quicken = (route: Route) => {
    if (route.group_wait) route.group_wait = '1s';
    if (route.group_interval) route.group_interval = '1s';
    route.routes?.forEach(quicken);
  };
  quicken(config.route);
  return stringify(config);
}

describe('Alertmanager with the shipped routing', () => {
  let alertmanager: ToolServer;
  let webhook: Server;
  let dir: string;
  const received: Notification[] = [];

  beforeAll(async () => {
    webhook = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Notification;
        received.push({ ...body, receiver: (req.url ?? '').slice(1) });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    dir = await mkdtemp(join(tmpdir(), 'rampart-alertmanager-'));
    await writeFile(join(dir, 'alertmanager.yml'), await testVariant(`http://127.0.0.1:${(webhook.address() as AddressInfo).port}`));
    const port = await freePort();
    alertmanager = await startToolServer(ALERTMANAGER, [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ], `http://127.0.0.1:${port}`);
  }, 90_000);

  afterAll(async () => {
    await alertmanager?.stop();
    await new Promise((resolve) => webhook?.close(resolve));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const post = async (alerts: Array<Record<string, string>>) => {
    const res = await fetch(`${alertmanager.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(alerts.map((labels) => ({ labels, annotations: { summary: `${labels.alertname} in a test`, runbook_url: `docs/runbooks/${labels.alertname}.md` }, startsAt: new Date().toISOString() }))),
    });
    expect(res.status).toBe(200);
  };
  const alertsAt = (receiver: string) => received.filter((n) => n.receiver === receiver).flatMap((n) => n.alerts.map((a) => a.labels));

  it('critical reaches PagerDuty, warning Slack, info email; an instance that is down silences its own symptoms', async () => {
    await post([{ alertname: 'InstanceDown', severity: 'critical', job: 'rampart-web', instance: 'web-1:9464' }]);
    await expect.poll(() => alertsAt('pagerduty').map((l) => l.alertname), { timeout: 20_000 }).toContain('InstanceDown');

    await post([
      { alertname: 'ApiHighErrorRate', severity: 'critical', job: 'rampart-web' },
      { alertname: 'EventLoopLagHigh', severity: 'warning', job: 'rampart-web', instance: 'web-1:9464' },
      { alertname: 'EventLoopLagHigh', severity: 'warning', job: 'rampart-web', instance: 'web-2:9464' },
      { alertname: 'SecretsRotationOverdue', severity: 'info', secret: 'API_KEY_PEPPER' },
    ]);
    await expect.poll(() => alertsAt('pagerduty').map((l) => l.alertname), { timeout: 20_000 }).toContain('ApiHighErrorRate');
    await expect.poll(() => alertsAt('slack').map((l) => `${l.alertname} ${l.instance}`), { timeout: 20_000 }).toContain('EventLoopLagHigh web-2:9464');
    await expect.poll(() => alertsAt('email').map((l) => l.alertname), { timeout: 20_000 }).toContain('SecretsRotationOverdue');

    // Alertmanager itself says why web-1's lag alert was not sent.
    const res = await fetch(`${alertmanager.url}/api/v2/alerts?filter=${encodeURIComponent('alertname="EventLoopLagHigh"')}`);
    const states = ((await res.json()) as Array<{ labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } }>).map((a) => [a.labels.instance, a.status.state, a.status.inhibitedBy.length]);
    expect(states.sort()).toEqual([['web-1:9464', 'suppressed', 1], ['web-2:9464', 'active', 0]]);

    // A few more group intervals: the inhibited alert never reaches any receiver.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(received.flatMap((n) => n.alerts.map((a) => `${a.labels.alertname} ${a.labels.instance}`))).not.toContain('EventLoopLagHigh web-1:9464');
    expect(alertsAt('slack').map((l) => l.alertname)).not.toContain('ApiHighErrorRate');
    expect(alertsAt('pagerduty').map((l) => l.severity)).toEqual(alertsAt('pagerduty').map(() => 'critical'));
  }, 90_000);
});
