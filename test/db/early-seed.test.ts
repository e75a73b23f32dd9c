import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { claimEarlySeed, startEarlySeed } from '../../src/platform/db/early-seed.js';
import { seedFromTemplate } from '../../src/platform/db/pglite-template.js';
import { pgliteDir } from '../../src/platform/db/template-paths.js';

describe('early template seed (started by the launcher)', () => {
  const dirs: string[] = [];
  const tempDir = async (name: string) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), `rampart-early-seed-${name}-`));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  /** A small stand-in for a cluster: nested folders and a few files. */
  const makeTemplate = async (marker: string) => {
    const template = await tempDir('template');
    await mkdir(path.join(template, 'base', '1'), { recursive: true });
    await writeFile(path.join(template, 'PG_VERSION'), '17\n');
    await writeFile(path.join(template, 'base', '1', 'marker'), marker);
    return template;
  };
  /** A file of the cluster seeded into `dataDir`. */
  const clusterFile = (dataDir: string, ...parts: string[]) => readFile(path.join(pgliteDir(dataDir), ...parts), 'utf8');
  const leftovers = async (dataDir: string) => (await readdir(dataDir)).filter((name) => name.includes('-seeding-'));

  it('copies before the database opens, and the database claims that copy', async () => {
    const template = await makeTemplate('early');
    const dataDir = await tempDir('data');
    startEarlySeed(['serve', '--with-worker'], { RAMPART_DATA_DIR: dataDir }, { templates: () => [template] });
    // The copy goes to a scratch folder beside where the cluster will be. Once it holds the
    // marker, change the template: only a claimed early copy still says "early".
    const copiedMarker = async () => {
      const [scratch] = await leftovers(dataDir);
      return scratch === undefined ? undefined : readFile(path.join(dataDir, scratch, 'base', '1', 'marker'), 'utf8').catch(() => undefined);
    };
    await expect.poll(copiedMarker).toBe('early');
    await writeFile(path.join(template, 'base', '1', 'marker'), 'copied later');
    expect(await seedFromTemplate(pgliteDir(dataDir), template)).toBe(true);
    expect(await clusterFile(dataDir, 'base', '1', 'marker')).toBe('early');
    expect(await leftovers(dataDir)).toEqual([]);
  });

  it('throws away a copy of another template and seeds from the one asked for', async () => {
    const guessed = await makeTemplate('guessed');
    const wanted = await makeTemplate('wanted');
    const dataDir = await tempDir('data');
    startEarlySeed(['worker'], { RAMPART_DATA_DIR: dataDir }, { templates: () => [guessed] });
    expect(await seedFromTemplate(pgliteDir(dataDir), wanted)).toBe(true);
    expect(await clusterFile(dataDir, 'base', '1', 'marker')).toBe('wanted');
    expect(await leftovers(dataDir)).toEqual([]);
  });

  it('throws away its copy when the cluster appeared meanwhile (another process seeded it)', async () => {
    const template = await makeTemplate('late');
    const dataDir = await tempDir('data');
    startEarlySeed(['serve'], { RAMPART_DATA_DIR: dataDir }, { templates: () => [template] });
    await mkdir(pgliteDir(dataDir), { recursive: true });
    await writeFile(path.join(pgliteDir(dataDir), 'PG_VERSION'), 'theirs');
    expect(await seedFromTemplate(pgliteDir(dataDir), template)).toBe(false);
    expect(await clusterFile(dataDir, 'PG_VERSION')).toBe('theirs');
    expect(await leftovers(dataDir)).toEqual([]);
  });

  it('starts nothing for other commands, a server database, production or an existing cluster', async () => {
    const template = await makeTemplate('never');
    const existing = await tempDir('existing');
    await mkdir(pgliteDir(existing), { recursive: true });
    const cases: Array<[string[], NodeJS.ProcessEnv]> = [
      [['migrate', 'up'], {}],
      [['--help'], {}],
      [[], {}],
      [['serve'], { DATABASE_URL: 'postgres://db.example/app' }],
      [['serve'], { RAMPART_ENV: 'production' }],
    ];
    for (const [args, env] of cases) {
      const dataDir = await tempDir('data');
      startEarlySeed(args, { ...env, RAMPART_DATA_DIR: dataDir }, { templates: () => [template] });
      expect(await claimEarlySeed(pgliteDir(dataDir), template)).toBeUndefined();
      expect(await readdir(dataDir)).toEqual([]);
    }
    startEarlySeed(['serve'], { RAMPART_DATA_DIR: existing }, { templates: () => [template] });
    expect(await claimEarlySeed(pgliteDir(existing), template)).toBeUndefined();
    expect(await leftovers(existing)).toEqual([]);
  });

  it('leaves no copy behind when the process ends without claiming it (a configuration error, say)', async () => {
    const template = await makeTemplate('orphan');
    const dataDir = await tempDir('data');
    const compiled = path.resolve('dist/src/platform/db/early-seed.js');
    expect(existsSync(compiled)).toBe(true);
    const script = `import { startEarlySeed } from ${JSON.stringify(compiled)};
      startEarlySeed(['serve'], { RAMPART_DATA_DIR: ${JSON.stringify(dataDir)} }, { templates: () => [${JSON.stringify(template)}] });
      setTimeout(() => process.exit(3), 300);`;
    expect(() => execFileSync(process.execPath, ['--input-type=module', '-e', script], { stdio: 'pipe' })).toThrow();
    expect(await readdir(dataDir)).toEqual([]);
  });
});
