import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { compiledPGlite, startCompilingPGlite } from '../../src/platform/db/early-pglite.js';
import { createPGlite } from '../../src/platform/db/pglite-template.js';

describe('PGlite compiled ahead (started by the launcher)', () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  it('compiles the WASM module once started, and an embedded database opens on it', async () => {
    expect(await compiledPGlite()).toBeUndefined();
    startCompilingPGlite();
    const compiled = await compiledPGlite();
    expect(compiled).toBeInstanceOf(WebAssembly.Module);
    startCompilingPGlite();
    expect(await compiledPGlite()).toBe(compiled);

    const dir = await mkdtemp(path.join(os.tmpdir(), 'rampart-early-pglite-'));
    dirs.push(dir);
    const create = vi.spyOn(PGlite, 'create');
    const pglite = await createPGlite(dir);
    expect(create).toHaveBeenCalledWith(dir, expect.objectContaining({ pgliteWasmModule: compiled }));
    create.mockRestore();
    try {
      expect((await pglite.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await pglite.close();
    }
  }, 120_000);
});
