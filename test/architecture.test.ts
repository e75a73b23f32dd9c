import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './support/rampart-process.js';

const src = join(repoRoot, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Every relative import of `file`, as a path under src/ (`platform/db/database.ts`). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)].map((match) => relative(src, resolve(dirname(file), match[1]!)).replace(/\.js$/, '.ts'));
}

describe('the shape of the source tree', () => {
  it('keeps the platform free of features, configuration, wiring and commands (it may use package-info only)', () => {
    const outward = sourceFiles(join(src, 'platform')).flatMap((file) =>
      importsOf(file)
        .filter((target) => !target.startsWith('platform/') && target !== 'package-info.ts')
        .map((target) => `${relative(src, file)} → ${target}`),
    );
    expect(outward).toEqual([]);
  });

  it('keeps features off the composition root, the wiring and the commands', () => {
    const upward = sourceFiles(join(src, 'features')).flatMap((file) =>
      importsOf(file)
        .filter((target) => target === 'main.ts' || target.startsWith('wiring/') || target.startsWith('cli/'))
        .map((target) => `${relative(src, file)} → ${target}`),
    );
    expect(upward).toEqual([]);
  });

  it('composes every feature (src/features/*/feature.ts, src/ops/*/feature.ts) from one list in main.ts', async () => {
    const { FEATURES } = await import('../src/main.js');
    const featureFiles = ['features', 'ops'].flatMap((room) =>
      readdirSync(join(src, room), { withFileTypes: true })
        .filter((entry) => entry.isDirectory() && readdirSync(join(src, room, entry.name)).includes('feature.ts'))
        .map((entry) => join(src, room, entry.name, 'feature.ts')),
    );
    const defined = (await Promise.all(featureFiles.map(async (file) => Object.values(await import(file) as Record<string, unknown>)))).flat();
    expect(defined.length).toBe(featureFiles.length);
    expect(new Set(FEATURES)).toEqual(new Set(defined));
  });
});
