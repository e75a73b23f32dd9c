import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authEnv } from '../support/auth-client.js';
import { databaseTargets, type DatabaseTarget } from '../support/databases.js';
import { fixturePlugin, send, startRampart, type RampartProcess } from '../support/rampart-process.js';

// What an operator's Prometheus scrapes from a web process on PostgreSQL and Redis: the
// platform's series besides HTTP's, with label sets that no client can grow.
const postgres = databaseTargets().find((t) => t.name === 'postgres')!;

const sample = (text: string, pattern: RegExp): number => {
  const match = pattern.exec(text);
  if (!match) throw new Error(`no sample matches ${pattern}`);
  return Number(match[1]);
};
// Series: names with labels, without values.
const seriesOf = (text: string) => text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).map((line) => line.slice(0, line.lastIndexOf(' ')));

describe.skipIf(!postgres.available)('the metrics port of a web process on PostgreSQL and Redis', () => {
  let target: DatabaseTarget;
  let rampart: RampartProcess;
  const scrape = async () => (await send(rampart.metricsUrl)).body;

  beforeAll(async () => {
    target = await postgres.create();
    rampart = await startRampart({
      args: ['serve', '--plugin', fixturePlugin],
      env: authEnv(target, {
        REDIS_URL: process.env.TEST_REDIS_URL ?? '',
        REDIS_KEY_PREFIX: `test:${randomBytes(6).toString('hex')}:`,
        RATE_LIMIT_ENABLED: 'true',
        RATE_LIMIT_GENERAL_PER_MIN: '1000000',
        RATE_LIMIT_GLOBAL_PER_5MIN: '1000000',
        RATE_LIMIT_AUTH_PER_MIN: '2',
      }),
    });
  }, 60_000);

  afterAll(async () => {
    await rampart?.stop();
    await target?.cleanup();
  });

  it('times database statements by operation and reports the pool by state', async () => {
    expect((await rampart.request('/readiness')).status).toBe(200);
    const text = await scrape();
    expect(sample(text, /^db_query_duration_seconds_count\{operation="select"\} (\d+)/m)).toBeGreaterThan(0);
    expect(text).toMatch(/^db_pool_connections\{state="active"\} \d+/m);
    expect(text).toMatch(/^db_pool_connections\{state="idle"\} \d+/m);
    expect(text).toMatch(/^db_pool_waiting_clients \d+/m);
    expect(text).toMatch(/^db_pool_max_connections 20$/m);
  });

  it('times Redis commands by name and says whether Redis is connected', async () => {
    await rampart.request('/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    const text = await scrape();
    expect(text).toMatch(/^redis_command_duration_seconds_count\{command="[a-z]+"\} [1-9]/m);
    expect(text).toMatch(/^redis_connected 1$/m);
  });

  it('names the build: version, the git commit it was built from, and the Node.js line', async () => {
    const text = await scrape();
    const build = /^build_info\{version="([^"]+)",git_sha="([^"]+)",node="([^"]+)"\} 1$/m.exec(text);
    expect(build?.[1]).toMatch(/^\d+\.\d+\.\d+/);
    // Built from this checkout: a commit hash, `-dirty` while changes are uncommitted.
    expect(build?.[2]).toMatch(/^[0-9a-f]{40}(-dirty)?$/);
    expect(build?.[3]).toBe(process.version);
    expect(text).toMatch(/^process_start_time_seconds \d+/m);
    // No worker runs beside this web process: none alive, and the series says so.
    expect(text).toMatch(/^worker_heartbeats\{state="alive"\} 0$/m);
  });

  it('counts 403 and 429 answers in http_requests_total', async () => {
    for (let i = 0; i < 4; i++) await rampart.request('/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'nobody@example.com', password: 'wrong-password-1' }) });
    await rampart.request('/test/forbidden');
    const text = await scrape();
    expect(sample(text, /^http_requests_total\{method="POST",route="\/v1\/auth\/login",status="429"\} (\d+)/m)).toBeGreaterThan(0);
    expect(sample(text, /^http_requests_total\{method="GET",route="\/test\/forbidden",status="403"\} (\d+)/m)).toBe(1);
  });

  it('keeps the number of series unchanged after 1,000 distinct URLs', async () => {
    // Warm every label a miss can produce, then count.
    await rampart.request(`/no/such/${randomBytes(4).toString('hex')}`);
    await rampart.request(`/test/items/${randomBytes(4).toString('hex')}`);
    const before = seriesOf(await scrape());
    const ids: string[] = [];
    for (let i = 0; i < 1_000; i++) {
      const id = randomBytes(6).toString('hex');
      ids.push(id);
      await rampart.request(i % 2 === 0 ? `/no/such/${id}?q=${id}` : `/test/items/${id}`);
    }
    const after = await scrape();
    // The requests' series are labelled by route pattern and status: none is new.
    const requestSeries = (series: string) => series.startsWith('http_');
    expect(seriesOf(after).filter((series) => requestSeries(series) && !before.includes(series))).toEqual([]);
    // And nothing a client sent became a label anywhere (other series are labelled by our own
    // code: statement kinds, command names, limiter outcomes).
    expect(ids.filter((id) => after.includes(id))).toEqual([]);
    expect(after).not.toMatch(/\/no\/such\//);
  }, 120_000);
});
