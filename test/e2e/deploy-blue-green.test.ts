import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E_APP_SECRET } from '../support/auth-client.js';
import { databaseTargets, type DatabaseTarget } from '../support/databases.js';
import { cliPath, fixturePlugin, repoRoot, runCli } from '../support/rampart-process.js';
import { startProxyLoad, type ProxyLoad } from '../support/proxy-load.js';
import { freePort, startNginx, type RunningProxy } from '../support/reverse-proxy.js';
import { createTestAuthority } from '../support/test-certificates.js';

// DEP-3 proven: `rampart deploy` switches blue-green behind the shipped nginx configuration
// while autocannon keeps it under load; a good build goes live, a build that never gets ready
// and one that fails the smoke checks are rolled back, and no request fails throughout.
// The figures are printed: `npx vitest run test/e2e/deploy-blue-green.test.ts`.
const postgres = databaseTargets().find((t) => t.name === 'postgres')!;
const run = promisify(execFile);
const DOCS = { user: 'docs', password: 'deploy-docs-password-123' };

describe.skipIf(!postgres.available)('rampart deploy behind nginx under load', () => {
  let target: DatabaseTarget;
  let proxy: RunningProxy;
  let dir: string;
  let env: Record<string, string>;
  const ports = { blue: 0, green: 0, blueMetrics: 0, greenMetrics: 0 };
  let load: ProxyLoad | undefined;
  const figures: string[] = [];

  /** The deploy file for one release: how its colours start (with `extra` environment) and stop. */
  const deployFile = async (release: string, extra = '', overrides: Record<string, unknown> = {}) => {
    const start = `cd ${dir} && PORT={port} METRICS_PORT={metricsPort} TEST_RELEASE=${release} ${extra} nohup ${process.execPath} ${cliPath} serve --with-worker --plugin ${fixturePlugin} > ${dir}/{colour}.log 2>&1 & echo $! > ${dir}/{colour}.pid`;
    // Waits for the process to drain and exit, as `systemctl stop` does.
    const stop = `pid=$(cat ${dir}/{colour}.pid) && rm ${dir}/{colour}.pid && { kill -TERM $pid 2>/dev/null; while kill -0 $pid 2>/dev/null; do sleep 0.2; done; }`;
    const file = path.join(dir, `deploy-${release}.json`);
    await writeFile(file, JSON.stringify({
      host: '127.0.0.1',
      proxy: { kind: 'nginx', upstreamFile: path.join(proxy.dir, 'rampart', 'upstream.conf'), check: `nginx -p ${proxy.dir} -c ${proxy.dir}/nginx.conf -t`, reload: `nginx -p ${proxy.dir} -c ${proxy.dir}/nginx.conf -s reload` },
      colours: {
        blue: { port: ports.blue, metricsPort: ports.blueMetrics, start, stop },
        green: { port: ports.green, metricsPort: ports.greenMetrics, start, stop },
      },
      readinessTimeoutS: 20,
      smoke: { workerTimeoutS: 20 },
      watch: { seconds: 3, maxErrorRate: 0.01, minRequests: 10 },
      drainS: 1,
      ...overrides,
    }, null, 2));
    return file;
  };
  const deploy = (file: string, ...args: string[]) => runCli(['deploy', '--file', file, ...args], env);
  // From the breaking-migration test on, the releases carry one more migration.
  const migrations = () => path.join(dir, 'migrations');
  const releaseThroughProxy = async () => (JSON.parse((await proxy.request('/test/release')).body) as { release: string }).release;
  const answered = () => load?.answered() ?? 0;

  beforeAll(async () => {
    target = await postgres.create();
    dir = await mkdtemp(path.join(os.tmpdir(), 'rampart-deploy-'));
    Object.assign(ports, { blue: await freePort(), green: await freePort(), blueMetrics: await freePort(), greenMetrics: await freePort() });
    env = {
      DATABASE_URL: target.url!,
      RAMPART_DATA_DIR: target.dataDir,
      APP_SECRET: E2E_APP_SECRET,
      AUTH_ARGON2_MEMORY_KIB: '1024',
      AUTH_ARGON2_TIME_COST: '1',
      FORCE_HTTPS: 'true',
      TRUSTED_PROXIES: '127.0.0.1/32',
      DOCS_USER: DOCS.user,
      DOCS_PASSWORD: DOCS.password,
      MIGRATE_ON_START: 'false',
      SHUTDOWN_DELAY_MS: '1000',
      RATE_LIMIT_ENABLED: 'false',
      LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
    };
    const authority = await createTestAuthority('Rampart deploy CA');
    // Nothing is live yet: the first deploy brings up blue.
    proxy = await startNginx({ authority, upstreams: ['127.0.0.1:1'], docs: DOCS, rateLimitExempt: ['127.0.0.1'] });
    const first = await deploy(await deployFile('v1'));
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toContain('backup: none, no colour is live yet');
    expect(first.stdout).toMatch(/migrations: applied 0001_platform/);
    expect(await releaseThroughProxy()).toBe('v1');

    load = startProxyLoad({ httpsPort: proxy.httpsPort, getPath: '/test/release', echoName: 'deploy', connections: 6, durationS: 900 });
  }, 180_000);

  /** Stops the load and prints what it saw; the error-rate test runs without it (its 5xx are the point). */
  let loadStopped = false;
  const stopLoadAndReport = async () => {
    if (loadStopped) return;
    loadStopped = true;
    const result = await load?.stop();
    if (result) {
      process.stdout.write([
        'rampart deploy behind nginx, 6 keep-alive connections of GET and POST throughout:',
        ...figures.map((line) => `  ${line}`),
        ...load!.summary(result).map((line) => `  ${line}`),
        '',
      ].join('\n'));
    }
  };

  afterAll(async () => {
    await stopLoadAndReport();
    for (const colour of ['blue', 'green']) {
      const pid = await readFile(path.join(dir, `${colour}.pid`), 'utf8').catch(() => undefined);
      if (pid) await run('/bin/sh', ['-c', `kill -TERM ${pid.trim()}; while kill -0 ${pid.trim()} 2>/dev/null; do sleep 0.2; done`]).catch(() => undefined);
    }
    await proxy?.stop();
    await target?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  const noFailuresSoFar = () => {
    const failures = [...(load?.statuses ?? [])].filter(([code]) => code < 200 || code >= 300);
    expect(failures, 'non-2xx answers through the proxy').toEqual([]);
  };

  it('deploys a good build: green goes live, blue is stopped, no request fails', async () => {
    const before = answered();
    const result = await deploy(await deployFile('v2'));
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('deploy: green');
    expect(result.stdout).toMatch(/^backup: .* backup --label pre-deploy$/m);
    expect(result.stdout).toMatch(/smoke: 9 checks passed/);
    expect(result.stdout).toMatch(/watch: 0 of \d+ requests answered 5xx in the first 3 s/);
    expect(result.stdout).toContain('stop: blue stopped');
    expect(result.stdout).toContain('deployed: green is live');
    for (let i = 0; i < 5; i++) expect(await releaseThroughProxy()).toBe('v2');
    expect(await readFile(path.join(dir, 'blue.pid'), 'utf8').catch(() => 'gone')).toBe('gone');
    figures.push(`good deploy (v1 → v2): exit 0, ${answered() - before} requests meanwhile`);
    noFailuresSoFar();
  }, 180_000);

  it('rolls back a build that never becomes ready: blue stopped again, green still serves, exit 1 with the reason', async () => {
    const before = answered();
    const upstreams = await readFile(path.join(proxy.dir, 'rampart', 'upstream.conf'), 'utf8');
    const result = await deploy(await deployFile('v3-broken', 'DATABASE_URL=postgres://postgres@127.0.0.1:1/nowhere DATABASE_CONNECT_TIMEOUT_MS=200'));
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAILED: blue did not become ready within 20 s/);
    expect(result.stdout).toContain('rollback: blue stopped');
    expect(await readFile(path.join(proxy.dir, 'rampart', 'upstream.conf'), 'utf8')).toBe(upstreams);
    for (let i = 0; i < 3; i++) expect(await releaseThroughProxy()).toBe('v2');
    figures.push(`build failing readiness (v3): exit 1, rolled back, ${answered() - before} requests meanwhile`);
    noFailuresSoFar();
  }, 180_000);

  it('rolls back a build that is ready but fails the smoke checks', async () => {
    const before = answered();
    const result = await deploy(await deployFile('v4-docs-open', 'env -u DOCS_USER -u DOCS_PASSWORD'));
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('readiness: blue ready');
    expect(result.stdout).toMatch(/FAILED: smoke failed on blue: docs-protected \(\/docs and \/openapi\.json answered without credentials\)/);
    expect(result.stdout).toContain('rollback: blue stopped');
    for (let i = 0; i < 3; i++) expect(await releaseThroughProxy()).toBe('v2');
    figures.push(`build failing smoke (v4): exit 1, rolled back, ${answered() - before} requests meanwhile`);
    noFailuresSoFar();
  }, 180_000);

  it('refuses a migration marked not backward compatible while green serves, and applies it when told', async () => {
    await cp(path.join(repoRoot, 'migrations'), migrations(), { recursive: true });
    await writeFile(path.join(migrations(), '0999_drop_legacy.up.sql'), '-- rampart: not-backward-compatible (the running release still reads this table)\ncreate table deploy_test_marker (id int);\n');
    await writeFile(path.join(migrations(), '0999_drop_legacy.down.sql'), 'drop table deploy_test_marker;\n');
    const result = await deploy(await deployFile('v5', '', { migrationsDir: migrations() }));
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('FAILED: refused: migration 0999_drop_legacy is marked not backward compatible and green still serves on the old schema');
    expect(result.stdout).not.toContain('start:');
    expect(await releaseThroughProxy()).toBe('v2');

    const told = await deploy(await deployFile('v5', '', { migrationsDir: migrations() }), '--allow-breaking-migrations');
    expect(told.code, told.stdout).toBe(0);
    expect(told.stdout).toContain('migrations: applied 0999_drop_legacy');
    expect(await releaseThroughProxy()).toBe('v5');
    figures.push('not-backward-compatible migration: refused (exit 1), then deployed with --allow-breaking-migrations (v2 → v5, exit 0)');
    noFailuresSoFar();
  }, 180_000);

  it('rolls back when the new colour answers errors in its first seconds live', async () => {
    await stopLoadAndReport();
    // This build answers /test/release with 500 (the fixture's TEST_RELEASE_BROKEN); traffic
    // through the proxy during the watch shows it.
    const file = await deployFile('v6-errors', 'TEST_RELEASE_BROKEN=1', { migrationsDir: migrations(), watch: { seconds: 8, maxErrorRate: 0.2, minRequests: 10 } });
    let deploying = true;
    const traffic = (async () => {
      while (deploying) {
        await proxy.request('/test/release').catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const result = await deploy(file);
    deploying = false;
    await traffic;
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAILED: error rate on green \d+\.\d % \(\d+ of \d+ requests answered 5xx\) over the 20\.0 % limit/);
    expect(result.stdout).toContain('rollback: ');
    expect(result.stdout).toContain('upstream.conf restored, blue serves again');
    expect(result.stdout).toContain('rollback: green stopped');
    expect(await releaseThroughProxy()).toBe('v5');
  }, 180_000);

  it('refuses a malformed deploy file with exit 2, naming each problem', async () => {
    const file = path.join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ proxy: { kind: 'haproxy' }, colours: { blue: { port: 8080, start: 'x', stop: 'y' } }, watch: { maxErrorRate: 2 }, colour: 'blue' }));
    const result = await deploy(file);
    expect(result.code).toBe(2);
    for (const problem of ['unknown field colour', 'proxy.kind must be "nginx" or "caddy"', 'proxy.upstreamFile must be a non-empty string', 'colours.green must be an object', 'watch.maxErrorRate must be a number from 0 to 1']) expect(result.stderr).toContain(problem);
  });
});
