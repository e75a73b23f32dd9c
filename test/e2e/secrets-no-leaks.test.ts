import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bearer, logIn, postJson, signUp, uniqueEmail } from '../support/auth-client.js';
import { databaseTargets } from '../support/databases.js';
import { runCli, send, startRampart } from '../support/rampart-process.js';

const fieldKey = () => randomBytes(32).toString('base64url');

describe.each(databaseTargets())('no secret value reaches any output ($name)', (factory) => {
  it('server logs, readiness, metrics and every CLI command stay free of secret values, through a live pepper rotation', async (ctx) => {
    ctx.skip(!factory.available, factory.skipReason);
    const target = await factory.create();
    const secretsDir = await mkdtemp(path.join(os.tmpdir(), 'rampart-secrets-dir-'));
    const values = {
      appSecret: `leakcheck-app-${randomBytes(20).toString('hex')}`,
      fieldKeyA: fieldKey(),
      fieldKeyB: fieldKey(),
      pepper: `leakcheck-pepper-${randomBytes(20).toString('hex')}`,
      docsPassword: `leakcheck-docs-${randomBytes(12).toString('hex')}`,
      dbPassword: `leakcheck-db-${randomBytes(12).toString('hex')}`,
    };
    await writeFile(path.join(secretsDir, 'app_secret'), `${values.appSecret}\n`);
    await writeFile(path.join(secretsDir, 'API_KEY_PEPPER'), values.pepper);
    const env: Record<string, string | undefined> = {
      RAMPART_DATA_DIR: target.dataDir,
      // The shared server trusts 127.0.0.1, so any password connects: here it is only a value to hunt for.
      DATABASE_URL: target.url && Object.assign(new URL(target.url), { password: values.dbPassword }).toString(),
      SECRETS_PROVIDERS: 'env,file',
      SECRETS_DIR: secretsDir,
      SECRETS_REFRESH_S: '1',
      FIELD_ENCRYPTION_KEYS: `fa:${values.fieldKeyA},fb:${values.fieldKeyB}`,
      DOCS_USER: 'docs',
      DOCS_PASSWORD: values.docsPassword,
      LOG_LEVEL: 'debug',
      AUTH_ARGON2_MEMORY_KIB: '1024',
      AUTH_ARGON2_TIME_COST: '1',
    };
    const outputs: string[] = [];
    let newPepper = '';
    let auditJson = '';
    const rampart = await startRampart({ env });
    try {
      const email = uniqueEmail('leaks');
      await signUp(rampart, email);
      const token = (await logIn(rampart, email)).access_token;
      const created = await postJson(rampart, '/v1/api-keys', { name: 'ci', scopes: ['contact:write'] }, bearer(token));
      expect(created.status, created.body).toBe(201);
      const apiKey = created.json<{ key: string }>().key;
      const whoami = () => rampart.request('/v1/api-keys/whoami', { headers: { 'x-api-key': apiKey } });
      expect((await whoami()).status).toBe(200);

      outputs.push((await rampart.request('/docs', { headers: { authorization: `Basic ${Buffer.from(`docs:${values.docsPassword}x`).toString('base64')}` } })).body);
      outputs.push((await rampart.request('/readiness')).body);
      outputs.push((await send(`${rampart.metricsUrl}`)).body);
      outputs.push((await rampart.request('/v1/me', { headers: bearer(`${token}x`) })).body);

      // Pepper rotation through the file provider, applied live: the key issued before it keeps working.
      const rotated = await runCli(['secrets', 'rotate', 'api-key-pepper'], env);
      outputs.push(rotated.stdout, rotated.stderr);
      expect(rotated.code, rotated.stderr).toBe(0);
      expect(rotated.stdout).toMatch(/API_KEY_PEPPER in file/);
      newPepper = (await readFile(path.join(secretsDir, 'API_KEY_PEPPER'), 'utf8')).trim().split(',')[0]!;
      expect(newPepper).not.toBe(values.pepper);
      await rampart.waitForLog((l) => l.msg === 'secrets changed' && (l.changed as string[]).includes('API_KEY_PEPPER'), 5_000);
      expect((await whoami()).status).toBe(200);
      const createdAfter = await postJson(rampart, '/v1/api-keys', { name: 'after', scopes: ['contact:write'] }, bearer(token));
      expect((await rampart.request('/v1/api-keys/whoami', { headers: { 'x-api-key': createdAfter.json<{ key: string }>().key } })).status).toBe(200);

      rampart.child.kill('SIGHUP');
      await rampart.waitForLog((l) => l.msg === 'secrets refreshed', 5_000);

      for (const args of [['config'], ['secrets', 'audit'], ['secrets', 'audit', '--json'], ['secrets', 'rotate', 'field-encryption-key']]) {
        const result = await runCli(args, env);
        outputs.push(result.stdout, result.stderr);
        if (args[2] === '--json') auditJson = result.stdout;
        if (args[2] === 'field-encryption-key') {
          // It comes from the environment, which rotate cannot write: refused, and said so.
          expect(result.code).toBe(2);
          expect(result.stderr).toMatch(/FIELD_ENCRYPTION_KEYS comes from env, which rotate cannot write/);
        }
      }
      const audit = JSON.parse(auditJson) as { secrets: Array<{ name: string; source: string }> };
      expect(audit.secrets.find((s) => s.name === 'API_KEY_PEPPER')?.source).toBe('file');
      expect(audit.secrets.find((s) => s.name === 'DOCS_PASSWORD')?.source).toBe('env');
    } finally {
      await rampart.stop();
      outputs.push(rampart.stdout(), rampart.stderr());
      await rm(secretsDir, { recursive: true, force: true });
      await target.cleanup();
    }
    expect(rampart.logs.length).toBeGreaterThan(10);
    const everything = outputs.join('\n');
    expect(newPepper.length).toBeGreaterThanOrEqual(32);
    for (const [name, value] of Object.entries({ ...values, newPepper })) expect(everything.includes(value), `${name} appeared in some output`).toBe(false);
  });
});
