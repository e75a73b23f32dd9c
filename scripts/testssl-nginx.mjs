// Runs testssl.sh (Debian `testssl.sh`) against the shipped nginx configuration in front of one
// Rampart (embedded database), with a certificate from a throwaway CA, and prints its findings.
//   npm run build && node scripts/testssl-nginx.mjs
// Takes one to three minutes. The proxy is set up by the same code the proxy tests use.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const work = await mkdtemp(path.join(os.tmpdir(), 'rampart-testssl-'));
const bundle = path.join(work, 'support.mjs');
await build({
  stdin: {
    contents: "export * from './test/support/reverse-proxy.ts'; export * from './test/support/test-certificates.ts'; export { startRampart } from './test/support/rampart-process.ts';",
    resolveDir: root,
    loader: 'ts',
  },
  bundle: true,
  platform: 'node',
  format: 'esm',
  outfile: bundle,
  logLevel: 'error',
  // rampart-process.ts finds the repository from its own location.
  define: { 'import.meta.dirname': JSON.stringify(path.join(root, 'test', 'support')) },
});
const support = await import(pathToFileURL(bundle).href);

const rampart = await support.startRampart({ env: { FORCE_HTTPS: 'true', TRUSTED_PROXIES: '127.0.0.1/32', DOCS_USER: 'docs', DOCS_PASSWORD: 'testssl-docs-password' } });
const authority = await support.createTestAuthority('Rampart testssl CA');
const proxy = await support.startNginx({ authority, upstreams: [`127.0.0.1:${rampart.port}`], docs: { user: 'docs', password: 'testssl-docs-password' } });
const caFile = path.join(work, 'ca.pem');
await writeFile(caFile, authority.caPem);
const jsonFile = path.join(work, 'testssl.json');
try {
  const args = ['--quiet', '--color', '0', '--warnings', 'off', '--ip', '127.0.0.1', '--add-ca', caFile, '--jsonfile', jsonFile, '--protocols', '--std', '--server-defaults', '--headers', '--vulnerable', `${support.SITE}:${proxy.httpsPort}`];
  console.log(`testssl ${args.join(' ')}`);
  await promisify(execFile)('testssl', args, { maxBuffer: 64 * 1024 * 1024, timeout: 600_000 }).catch((err) => {
    // testssl exits non-zero when it has findings; the JSON file is what counts.
    if (!err.stdout) throw err;
  });
  const findings = JSON.parse(await readFile(jsonFile, 'utf8'));
  const bySeverity = {};
  for (const f of findings) bySeverity[f.severity] = (bySeverity[f.severity] ?? 0) + 1;
  console.log(`\nfindings by severity: ${JSON.stringify(bySeverity)}`);
  const show = (ids) => findings.filter((f) => ids.includes(f.id)).map((f) => `  ${f.id}: ${f.finding}`).join('\n');
  console.log(show(['SSLv2', 'SSLv3', 'TLS1', 'TLS1_1', 'TLS1_2', 'TLS1_3', 'cipherlist_NULL', 'cipherlist_aNULL', 'cipherlist_EXPORT', 'cipherlist_LOW', 'cipherlist_3DES_IDEA', 'cipherlist_AVERAGE', 'cipherlist_STRONG', 'FS', 'HSTS_time', 'HSTS_subdomains', 'HSTS_preload', 'OCSP_stapling']));
  console.log('\nLOW and above:');
  for (const f of findings.filter((x) => ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'].includes(x.severity))) console.log(`  ${f.severity} ${f.id}: ${f.finding}`);
} finally {
  await proxy.stop();
  await rampart.stop();
  await rm(work, { recursive: true, force: true });
}
