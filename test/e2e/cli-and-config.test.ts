import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configMarkdownTable } from '../../src/cli/config-table.js';
import { databaseTargets } from '../support/databases.js';
import { cliPath, repoRoot, runCli, startRampart } from '../support/rampart-process.js';

const SAFE_PRODUCTION = {
  RAMPART_ENV: 'production',
  APP_SECRET: 'p'.repeat(40),
  FIELD_ENCRYPTION_KEYS: `prod1:${'k'.repeat(43)}`,
  API_KEY_PEPPER: 'q'.repeat(40),
  FORCE_HTTPS: 'true',
  DOCS_USER: 'docs',
  DOCS_PASSWORD: 'a-long-docs-password',
  CORS_ORIGINS: 'https://app.example.com',
  PUBLIC_BASE_URL: 'https://api.example.com',
};

describe('rampart CLI', () => {
  it('lists its commands in --help', async () => {
    const { code, stdout } = await runCli(['--help']);
    expect(code).toBe(0);
    for (const command of ['serve', 'worker', 'migrate', 'config']) expect(stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
  });

  // `npx rampart` in the repository copies the project into npm's cache and runs `prepare`
  // (the whole build) first; the documented form is plain node on the built entry.
  it('README and docs run the CLI in the repository as `node dist/rampart.mjs`, which starts without building', async () => {
    const guides = ['README.md', ...readdirSync(join(repoRoot, 'docs')).filter((f) => f.endsWith('.md') && f !== 'decisions.md').map((f) => join('docs', f))];
    for (const guide of guides) {
      const text = readFileSync(join(repoRoot, guide), 'utf8');
      expect(text, guide).not.toMatch(/npx\s+rampart/);
      // A command line someone would type: in a code block, starting with the CLI's name.
      const blocks = [...text.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((m) => m[1]!);
      const typed = blocks.flatMap((b) => b.split('\n')).filter((line) => /^(\$ )?rampart\s/.test(line));
      expect(typed, `${guide}: run as node dist/rampart.mjs`).toEqual([]);
    }
    expect(readFileSync(join(repoRoot, 'README.md'), 'utf8')).toContain('`node dist/rampart.mjs --help`');

    const built = statSync(cliPath).mtimeMs;
    const result = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile('node', ['dist/rampart.mjs', '--help'], { cwd: repoRoot }, (error, stdout) => resolve({ code: error ? (error.code as number) : 0, stdout }));
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: rampart/);
    expect(statSync(cliPath).mtimeMs).toBe(built);
  });

  it.each([
    ['PORT', 'eighty', /PORT: expected an integer, got "eighty"/],
    ['PORT', '70000', /PORT: must be ≤ 65535/],
    ['FORCE_HTTPS', 'maybe', /FORCE_HTTPS: expected true or false/],
    ['RAMPART_ENV', 'staging', /RAMPART_ENV: expected one of development, production/],
    ['TRUSTED_PROXIES', '0.0.0.0/0', /TRUSTED_PROXIES: "0\.0\.0\.0\/0" would trust every address/],
    ['TRUSTED_PROXIES', '10.0.0.0/8,not-an-ip', /TRUSTED_PROXIES: "not-an-ip" is not an IP address or CIDR/],
    ['DATABASE_URL', 'not a url', /DATABASE_URL: not a valid URL/],
    ['RAMPART_PROT', '8080', /RAMPART_PROT: unknown setting/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL: expected one of/],
  ])('refuses to start when %s=%s, naming the variable', async (name, value, message) => {
    const { code, stderr } = await runCli(['serve'], { [name]: value });
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });

  it('never echoes a malformed secret value', async () => {
    const { code, stderr } = await runCli(['serve'], { DOCS_USER: 'docs', DOCS_PASSWORD: 'hunter2-secret-value', APP_SECRET: 'short-secret-value' });
    expect(code).toBe(2);
    expect(stderr).toMatch(/APP_SECRET: must be at least 32 characters/);
    expect(stderr).not.toContain('short-secret-value');
    expect(stderr).not.toContain('hunter2-secret-value');
  });

  it('refuses unsafe production settings with one line per problem', async () => {
    const { code, stderr } = await runCli(['serve'], { RAMPART_ENV: 'production', CORS_ORIGINS: '*' });
    expect(code).toBe(3);
    const lines = stderr.trim().split('\n');
    expect(lines[0]).toBe('rampart: refusing to start in production:');
    const problems = lines.slice(1).join('\n');
    expect(problems).toMatch(/DATABASE_URL is not set/);
    expect(problems).toMatch(/APP_SECRET is not set: generated secrets/);
    expect(problems).toMatch(/FORCE_HTTPS is off/);
    expect(problems).toMatch(/CORS_ORIGINS contains "\*"/);
    expect(problems).toMatch(/DOCS_ENABLED without DOCS_USER/);
    expect(problems).toMatch(/PUBLIC_BASE_URL is not https/);
    expect(problems).toMatch(/FIELD_ENCRYPTION_KEYS is not set/);
    expect(problems).toMatch(/API_KEY_PEPPER is not set/);
    expect(lines).toHaveLength(9);
  });

  const postgres = databaseTargets()[1]!;
  it.skipIf(!postgres.available)('starts in production when every setting is safe', async () => {
    const target = await postgres.create();
    try {
      // Production never migrates on start; the deploy step does.
      expect((await runCli(['migrate', 'up'], { ...SAFE_PRODUCTION, DATABASE_URL: target.url })).code).toBe(0);
      const rampart = await startRampart({ env: { ...SAFE_PRODUCTION, DATABASE_URL: target.url } });
      const res = await rampart.request('/health');
      expect(res.status).toBe(200);
      expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains; preload');
      expect(await rampart.stop()).toBe(0);
    } finally {
      await target.cleanup();
    }
  });

  it('refuses a second process on the same embedded database instead of corrupting it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rampart-lock-'));
    const rampart = await startRampart({ env: { RAMPART_DATA_DIR: dataDir } });
    try {
      const second = await runCli(['migrate', 'status'], { RAMPART_DATA_DIR: dataDir });
      expect(second.code).toBe(5);
      expect(second.stderr).toMatch(new RegExp(`in use by a running Rampart \\(pid ${rampart.child.pid}\\)`));
    } finally {
      expect(await rampart.stop()).toBe(0);
    }
    // The lock goes with the process: the CLI works now.
    expect((await runCli(['migrate', 'status'], { RAMPART_DATA_DIR: dataDir })).code).toBe(0);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('documents every setting in the README table generated from the schema', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const match = /<!-- config-table:start -->\n([\s\S]*?)\n<!-- config-table:end -->/.exec(readme);
    expect(match, 'README.md has the config-table markers').not.toBeNull();
    expect(match![1]).toBe(configMarkdownTable());
  });
});
