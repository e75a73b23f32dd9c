// Bundles the compiled CLI (dist/src/cli/launch.js, which loads main.js) and most of its dependencies into one
// file, dist/rampart.mjs: the entry `npm start`, the `rampart` bin, the tests and the bench
// run. An embedded start opened ~1,500 module files (typebox alone ~370, the AWS SDK, jose,
// yaml…); resolving, reading and linking them was a fifth of the time to ready.
// See docs/decisions.md, "One bundled entry".
import { chmod, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// Stay ordinary imports, resolved from node_modules at run time:
// - packages whose objects cross into plugins and job handlers (Fastify and its plugin
//   helper): a plugin importing its own copy must meet the same classes. Kysely crosses too,
//   but its ~260 ES module files took 0.3–0.9 s of every start: it is inlined, and published
//   to `--plugin` modules as dist/extensions/kysely.mjs (see extension-resolve-hooks.ts);
// - packages that read their own files or load native code (PGlite's WASM and data, its pg_dump, the
//   argon2 addon, the docs UI's static files, pino's worker transports). The OpenAPI
//   generator (@fastify/swagger, with yaml) reads none and is inlined: loaded from its ~100
//   files it cost ~0.1 s of every start.
const EXTERNAL_PACKAGES = new Set([
  'fastify',
  'fastify-plugin',
  '@electric-sql/pglite',
  '@electric-sql/pglite-tools',
  '@node-rs/argon2',
  '@fastify/swagger-ui',
  '@fastify/static',
  'pino',
  'thread-stream',
]);

const packageOf = (specifier) => (specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]);

const outdir = path.join(root, 'dist');
const outfile = path.join(outdir, 'rampart.mjs');
// What only some runs need (unpdf's pdf.js, the AWS SDK clients, html-to-text) is reached by
// dynamic import(); split into chunks, it is read and compiled only when first used instead of
// on every start (~4 MB of the 7.4 MB bundle).
const { outputFiles } = await build({
  // Written below, so that no process starting meanwhile finds a file missing or half-written.
  write: false,
  entryPoints: {
    rampart: path.join(root, 'dist', 'src', 'cli', 'launch.js'),
    // Kysely as the bundle has it (one shared chunk with the entry above), for `--plugin` modules.
    'extensions/kysely': path.join(root, 'dist', 'src', 'platform', 'db', 'kysely-for-extensions.js'),
    'extensions/resolve-hooks': path.join(root, 'dist', 'src', 'cli', 'extension-resolve-hooks.js'),
    // The process that parses a PDF or HTML document (src/features/documents/extraction-process.ts).
    'processes/extract-text': path.join(root, 'dist', 'src', 'features', 'documents', 'extraction-process-main.js'),
  },
  // Code that must know it runs from the bundle (src/cli/extensions.ts) tests this identifier.
  // The commit is baked in for build_info and error reports' release (RAMPART_RELEASE overrides at run time).
  define: { RAMPART_BUNDLE: 'true', RAMPART_BUILD_GIT_SHA: JSON.stringify(gitSha()) },
  outdir,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // `node --enable-source-maps dist/rampart.mjs` maps stack traces back to the sources.
  sourcemap: 'linked',
  // CommonJS packages inside an ES module bundle still call require() for what stays external.
  banner: { js: "import { createRequire as createRequireForBundle } from 'node:module';\nconst require = createRequireForBundle(import.meta.url);" },
  plugins: [
    {
      name: 'rampart-externals',
      setup(builder) {
        builder.onResolve({ filter: /^[^./]/ }, ({ path: specifier }) =>
          specifier.startsWith('node:') || EXTERNAL_PACKAGES.has(packageOf(specifier)) ? { external: true } : undefined,
        );
      },
    },
  ],
  logLevel: 'warning',
});

// Rebuilds happen while Rampart runs from dist: `npx rampart` inside the repository installs
// the project into npm's cache, which runs `prepare` (this script) in place, and the test suite
// does that while it is starting Rampart processes. So each file goes in under a temporary name
// and is renamed over the old one (chunks before the entries that import them), and files of an
// earlier build are removed only once the new ones are all in place. Chunk names carry a hash
// of their content: an unchanged build rewrites the same names.
const isEntry = (file) => !file.path.includes(`${path.sep}chunks${path.sep}`);
const written = new Set();
for (const dir of new Set(outputFiles.map((file) => path.dirname(file.path)))) await mkdir(dir, { recursive: true });
for (const file of [...outputFiles.filter((f) => !isEntry(f)), ...outputFiles.filter(isEntry)]) {
  const temporary = `${file.path}.${process.pid}.tmp`;
  await writeFile(temporary, file.contents);
  if (file.path === outfile) await chmod(temporary, 0o755);
  await rename(temporary, file.path);
  written.add(file.path);
}
for (const dir of ['chunks', 'extensions', 'processes'].map((name) => path.join(outdir, name))) {
  for (const name of await readdir(dir)) if (!written.has(path.join(dir, name))) await rm(path.join(dir, name), { force: true });
}

/** The checkout's commit, `-dirty` when it has uncommitted changes; empty outside a git checkout (an installed package). */
function gitSha() {
  try {
    const sha = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    return dirty ? `${sha}-dirty` : sha;
  } catch {
    return '';
  }
}
