import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileProvider } from './file-provider.js';

const KNOWN = new Set(['APP_SECRET', 'DOCS_PASSWORD']);

describe('file provider (a /run/secrets or Kubernetes secret mount)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'rampart-secrets-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('reads one secret per file, named by key, without the trailing newline', async () => {
    await writeFile(path.join(dir, 'app_secret'), 'x'.repeat(40) + '\n');
    await writeFile(path.join(dir, 'DOCS_PASSWORD'), 'docs');
    await writeFile(path.join(dir, 'README'), 'not a secret');
    const loaded = await fileProvider(dir, KNOWN).load();
    expect(loaded.get('APP_SECRET')?.value).toBe('x'.repeat(40));
    expect(loaded.get('DOCS_PASSWORD')?.value).toBe('docs');
    expect(loaded.size).toBe(2);
    expect(loaded.get('APP_SECRET')?.changedAt).toBeInstanceOf(Date);
  });

  it('treats a directory that does not exist as empty (the default chain needs no mount)', async () => {
    expect((await fileProvider(path.join(dir, 'absent'), KNOWN).load()).size).toBe(0);
  });

  it('writes a rotated value into the same file, mode 0600', async () => {
    await writeFile(path.join(dir, 'app_secret'), 'old');
    const provider = fileProvider(dir, KNOWN);
    await provider.load();
    await provider.write!('APP_SECRET', 'new-value');
    expect(await readFile(path.join(dir, 'app_secret'), 'utf8')).toBe('new-value\n');
    expect((await stat(path.join(dir, 'app_secret'))).mode & 0o777).toBe(0o600);
  });
});
