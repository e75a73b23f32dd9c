import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The same code runs from src/ (tests) and dist/src/ (built), so files shipped beside the
// package (migrations/, public/) are found from package.json, not from a fixed depth.
function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'rampart') return dir;
    } catch {
      // not here; keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('rampart: cannot find the package root (package.json)');
    dir = parent;
  }
}

export const packageRoot = findPackageRoot();

export const packageVersion: string = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;

// Replaced by scripts/bundle.mjs with the commit the build was made from; undeclared when running from src/ or dist/src.
declare const RAMPART_BUILD_GIT_SHA: string | undefined;

/** The git commit this build was made from (`unknown` outside a git checkout or unbundled). */
export const buildGitSha: string = typeof RAMPART_BUILD_GIT_SHA === 'string' && RAMPART_BUILD_GIT_SHA !== '' ? RAMPART_BUILD_GIT_SHA : 'unknown';
