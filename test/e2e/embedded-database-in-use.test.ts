import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort } from '../support/private-postgres.js';
import { runCli, startRampart, type RampartProcess } from '../support/rampart-process.js';

// Each case starts the built CLI, some of them a server too: generous on a loaded machine.
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

// PGlite lets one process open a data directory. While `npm start` runs, every command that
// reads the embedded database must say so, name the process and what to do, and exit 5:
// never print a report as if it had read everything.

const IN_USE = 5;
const INCOMPLETE = 4;

describe('commands against an embedded database a running Rampart holds', () => {
  let dataDir: string;
  let rampart: RampartProcess;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'rampart-in-use-'));
    rampart = await startRampart({ env: { RAMPART_DATA_DIR: dataDir } });
  });
  afterAll(async () => {
    await rampart?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const inUseMessage = (pid: number | undefined) => new RegExp(
    `^rampart: the embedded database in \\S+ is in use by a running Rampart \\(pid ${pid}\\); PGlite lets one process open it\\.\\n` +
    `  Stop that process first \\(Ctrl-C where it runs, or kill -TERM ${pid}\\) and run this again,\\n` +
    '  or run Rampart on PostgreSQL \\(DATABASE_URL\\), where commands work alongside the running servers\\.$',
    'm',
  );

  it.each([
    [['jobs', 'list']],
    [['jobs', 'list', '--json']],
    [['jobs', 'retry', '--all']],
    [['jobs', 'purge-dlq']],
    [['migrate', 'status']],
    [['migrate', 'up']],
    [['secrets', 'rotate', 'jwt-signing-key']],
  ])('`rampart %s` exits 5 naming the running process and what to do, printing nothing else', async (args) => {
    const { code, stdout, stderr } = await runCli(args, { RAMPART_DATA_DIR: dataDir });
    expect(stderr).toMatch(inUseMessage(rampart.child.pid));
    expect(code).toBe(IN_USE);
    expect(stdout).toBe('');
  });

  it.each([[['serve']], [['worker']]])('a second `rampart %s` exits 5 the same way, before listening or working', async (args) => {
    const { code, stdout, stderr } = await runCli(args, { RAMPART_DATA_DIR: dataDir });
    expect(stderr).toMatch(inUseMessage(rampart.child.pid));
    expect(code).toBe(IN_USE);
    expect(stdout).not.toMatch(/"msg":"(listening|worker started)"/);
  });

  it('`rampart secrets audit` prints what it could read, marks the rest "not checked", never claims nothing is overdue, and exits 5', async () => {
    const { code, stdout, stderr } = await runCli(['secrets', 'audit'], { RAMPART_DATA_DIR: dataDir });
    expect(code).toBe(IN_USE);
    expect(stderr).toMatch(inUseMessage(rampart.child.pid));
    expect(stdout).toMatch(/^APP_SECRET\s+generated\b/m);
    expect(stdout).toMatch(new RegExp(`^jwt-signing-key\\s+database\\b.*not checked: embedded database in use by pid ${rampart.child.pid}`, 'm'));
    expect(stdout).toMatch(/^api-keys\s+database\b.*not checked/m);
    expect(stdout).not.toMatch(/no secret is overdue/);

    const json = await runCli(['secrets', 'audit', '--json'], { RAMPART_DATA_DIR: dataDir });
    expect(json.code).toBe(IN_USE);
    expect(JSON.parse(json.stdout)).toMatchObject({ complete: false, unchecked: ['jwt-signing-key', 'api-keys'], overdue: [] });
  });

  it('the running server was not disturbed', async () => {
    expect((await rampart.request('/readiness')).status).toBe(200);
  });
});

describe('`rampart secrets audit` with the database unreachable', () => {
  it('names what it could not check and exits 4', async () => {
    const port = await freePort();
    const { code, stdout, stderr } = await runCli(['secrets', 'audit'], { DATABASE_URL: `postgres://rampart:db-password-not-shown@127.0.0.1:${port}/rampart`, DATABASE_CONNECT_TIMEOUT_MS: '500' });
    expect(code).toBe(INCOMPLETE);
    expect(stderr).toMatch(/^rampart: the audit is incomplete: jwt-signing-key and api-keys could not be checked \(database unavailable: ECONNREFUSED\)$/m);
    expect(stdout).toMatch(/^jwt-signing-key\s+database\b.*not checked: database unavailable \(ECONNREFUSED\)/m);
    expect(stdout).toMatch(/^none of the secrets checked is overdue for rotation$/m);
    expect(stdout + stderr).not.toContain('db-password-not-shown');
  });
});
