import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/platform/db/database.js';
import { migrateUp } from '../../src/platform/db/migrations.js';
import { databaseTargets, testDatabaseOptions, type DatabaseTarget } from '../support/databases.js';
import { repoRoot } from '../support/rampart-process.js';

const LEASE_MS = 2_000;
const RENEW_MS = LEASE_MS / 3;
const EVERY_MS = 500;
const fixture = join(repoRoot, 'test', 'fixtures', 'leader-node.mjs');

interface Node {
  holderId: string;
  child: ChildProcess;
  events: Array<{ event: string; tick?: string; token?: string }>;
  exited: Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function startNode(holderId: string, url: string): Node {
  const child = spawn(process.execPath, [fixture], {
    env: { ...process.env, DATABASE_URL: url, HOLDER_ID: holderId, LEASE_MS: String(LEASE_MS), EVERY_MS: String(EVERY_MS) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const node: Node = { holderId, child, events: [], exited: new Promise((resolve) => child.once('exit', () => resolve())) };
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) node.events.push(JSON.parse(line) as Node['events'][number]);
  });
  child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  return node;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const postgres = databaseTargets().find((t) => t.name === 'postgres')!;

// Without TEST_DATABASE_URL outside CI there is nothing to run against (in CI databaseTargets throws).
describe.runIf(postgres.available)('leader failover across processes (PostgreSQL)', () => {
  let target: DatabaseTarget | undefined;
  let handle: DatabaseHandle | undefined;
  const nodes: Node[] = [];

  beforeAll(async () => {
    target = await postgres.create();
    handle = await openDatabase(testDatabaseOptions(target));
    await migrateUp(handle);
    await sql`create table leader_ticks (tick timestamptz primary key, ran_by text not null)`.execute(handle.db);
  });

  afterAll(async () => {
    for (const node of nodes) node.child.kill('SIGTERM');
    await Promise.all(nodes.map((node) => Promise.race([node.exited, sleep(5_000)])));
    for (const node of nodes) node.child.kill('SIGKILL');
    await handle?.close();
    await target?.cleanup();
  });

  it('kill -9 of the leader: another instance takes over within lease + one renewal, and no tick runs twice', async () => {
    const db = handle!.db;
    nodes.push(...['node-0', 'node-1', 'node-2'].map((id) => startNode(id, target!.url!)));
    const lease = () => db.selectFrom('leader_leases').select(['holder', 'fencing_token']).where('name', '=', 'scheduler').where('expires_at', '>', sql<Date>`now()`).executeTakeFirst();

    const first = await until('a leader', lease, 15_000);
    await until('ticks from the first leader', async () => {
      const { count } = await db.selectFrom('leader_ticks' as never).select(sql<string>`count(*)`.as('count')).executeTakeFirstOrThrow();
      return Number(count) >= 3 ? true : undefined;
    }, 10_000);

    const leader = nodes.find((node) => node.holderId === first.holder)!;
    leader.child.kill('SIGKILL');
    const killedAt = Date.now();
    await leader.exited;

    const second = await until('a new leader', async () => {
      const now = await lease();
      return now && now.holder !== first.holder ? now : undefined;
    }, LEASE_MS + RENEW_MS + 5_000);
    const takeoverMs = Date.now() - killedAt;
    // The lease the dead leader renewed last runs out within LEASE_MS of the kill; a survivor
    // tries every RENEW_MS. The rest is query and polling latency.
    expect(takeoverMs).toBeLessThanOrEqual(LEASE_MS + RENEW_MS + 500);
    expect(BigInt(second.fencing_token)).toBeGreaterThan(BigInt(first.fencing_token));

    const survivor = nodes.find((node) => node.holderId === second.holder)!;
    await until('ticks from the new leader', async () => (survivor.events.filter((e) => e.event === 'ran').length >= 3 ? true : undefined), 5_000);

    const ticks = (await sql<{ tick: Date; ran_by: string }>`select tick, ran_by from leader_ticks order by tick`.execute(db)).rows;
    const runs = await db.selectFrom('scheduled_runs').select(['tick', 'ran_by']).where('job', '=', 'record-tick').orderBy('tick').execute();
    // Every claimed tick ran exactly once, by the instance that claimed it.
    expect(ticks.map((t) => [t.tick.getTime(), t.ran_by])).toEqual(runs.map((r) => [r.tick.getTime(), r.ran_by]));
    expect(ticks.every((t) => t.tick.getTime() % EVERY_MS === 0)).toBe(true);
    expect(new Set(ticks.map((t) => t.ran_by))).toEqual(new Set([first.holder, second.holder]));
    expect(nodes.flatMap((node) => node.events).filter((e) => e.event === 'duplicate' || e.event === 'error')).toEqual([]);
    const ranTicks = nodes.flatMap((node) => node.events).filter((e) => e.event === 'ran').map((e) => e.tick);
    expect(new Set(ranTicks).size).toBe(ranTicks.length);
  });
});
