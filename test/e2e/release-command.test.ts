import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeSentry, type FakeSentry } from '../support/fake-sentry.js';
import { freePort } from '../support/private-postgres.js';
import { runCli, send, startRampart } from '../support/rampart-process.js';

// `rampart release` against a local server that answers Sentry's release API as sentry.io does.

interface ReleaseJson {
  release: string;
  published: boolean;
  files: Array<{ name: string; bytes: number }>;
}

const TOKEN = 'test-auth-token';

describe('rampart release', () => {
  let sentry: FakeSentry;
  let buildSha: string;

  beforeAll(async () => {
    sentry = await startFakeSentry();
    const rampart = await startRampart();
    try {
      buildSha = /^build_info\{[^}]*git_sha="([^"]+)"/m.exec((await send(rampart.metricsUrl)).body)![1]!;
    } finally {
      await rampart.stop();
    }
  }, 120_000);

  afterAll(async () => {
    await sentry?.close();
  });

  it('without a token prints the build\'s release and what it would upload, sends nothing, exits 0', async () => {
    const text = await runCli(['release']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout.split('\n')[0]).toBe(buildSha);
    expect(text.stdout).toMatch(/SENTRY_AUTH_TOKEN is not set: nothing sent\. With it .* this would create release \S+ in https:\/\/sentry\.io\/ and upload \d+ files/);

    const result = await runCli(['release', '--json'], { RAMPART_RELEASE: 'shop-2024.12.1' });
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as ReleaseJson;
    expect(report).toMatchObject({ release: 'shop-2024.12.1', published: false });
    const names = report.files.map((f) => f.name);
    expect(names).toEqual(expect.arrayContaining(['app:///dist/rampart.mjs', 'app:///dist/rampart.mjs.map']));
    expect(names.some((name) => /^app:\/\/\/dist\/chunks\/start-error-reports-\w+\.mjs\.map$/.test(name))).toBe(true);
    expect(names.some((name) => name.startsWith('app:///dist/src/'))).toBe(false);
    expect(sentry.apiCalls).toEqual([]);
  }, 60_000);

  it('with a token creates the release and uploads the bundle and its source maps, never printing the token', async () => {
    const env = { SENTRY_AUTH_TOKEN: TOKEN, SENTRY_ORG: 'acme', SENTRY_PROJECT: 'shop', SENTRY_URL: sentry.url, RAMPART_RELEASE: 'shop-2024.12.2' };
    const result = await runCli(['release', '--json'], env);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as ReleaseJson;
    expect(report).toMatchObject({ release: 'shop-2024.12.2', published: true });

    const [create, ...uploads] = sentry.apiCalls;
    expect(create).toMatchObject({ method: 'POST', path: '/api/0/organizations/acme/releases/', authorization: `Bearer ${TOKEN}` });
    expect(JSON.parse(create!.body.toString('utf8'))).toEqual({ version: 'shop-2024.12.2', projects: ['shop'] });
    expect(uploads.map((u) => u.path)).toEqual(report.files.map(() => '/api/0/projects/acme/shop/releases/shop-2024.12.2/files/'));
    // Each file arrives as multipart form data under its frame name, byte for byte.
    const uploaded = await Promise.all(uploads.map(async (u) => {
      const form = await new Response(new Uint8Array(u.body), { headers: { 'content-type': u.contentType! } }).formData();
      return { name: String(form.get('name')), bytes: (form.get('file') as Blob).size };
    }));
    expect(uploaded.sort((a, b) => a.name.localeCompare(b.name))).toEqual(report.files);
    expect(`${result.stdout}${result.stderr}`).not.toContain(TOKEN);
  }, 120_000);

  it('exits 1 naming what Sentry said when it refuses the token, and never quotes it', async () => {
    const result = await runCli(['release'], { SENTRY_AUTH_TOKEN: 'revoked-token-123', SENTRY_ORG: 'acme', SENTRY_PROJECT: 'shop', SENTRY_URL: sentry.url });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Sentry release failed while creating release \S+: HTTP 401 \(Invalid token\)/);
    expect(`${result.stdout}${result.stderr}`).not.toContain('revoked-token-123');
  }, 60_000);

  it('exits 1 when Sentry cannot be reached', async () => {
    const result = await runCli(['release'], { SENTRY_AUTH_TOKEN: TOKEN, SENTRY_ORG: 'acme', SENTRY_PROJECT: 'shop', SENTRY_URL: `http://127.0.0.1:${await freePort()}/` });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Sentry release failed while creating release/);
  }, 60_000);

  it('exits 2 when the token comes without SENTRY_ORG and SENTRY_PROJECT', async () => {
    const result = await runCli(['release'], { SENTRY_AUTH_TOKEN: TOKEN });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('SENTRY_ORG and SENTRY_PROJECT are required with SENTRY_AUTH_TOKEN');
  }, 60_000);

  it('documents itself with an example and its exit codes', async () => {
    const help = await runCli(['release', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Example:\n {2}SENTRY_AUTH_TOKEN=… SENTRY_ORG=acme SENTRY_PROJECT=rampart rampart release/);
    expect(help.stdout).toMatch(/Exit codes: 0 .*1 .*2 /s);
  }, 60_000);
});
