import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRampart, type RampartProcess } from '../support/rampart-process.js';

const CHROMIUM = '/usr/bin/chromium';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('API docs behind Basic Auth', () => {
  let rampart: RampartProcess;
  beforeAll(async () => {
    rampart = await startRampart({ env: { DOCS_USER: 'docs', DOCS_PASSWORD: 'correct-horse-battery' } });
  });
  afterAll(async () => {
    await rampart?.stop();
  });

  it.each(['/docs', '/docs/', '/openapi.json', '/docs/json'])('answers %s with 401 and a Basic challenge without credentials', async (path) => {
    const res = await rampart.request(path);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Basic realm="rampart-docs"/);
    expect(res.json()).toMatchObject({ status: 401, type: '/problems/unauthorized' });
  });

  it('refuses wrong credentials', async () => {
    for (const auth of [basic('docs', 'wrong'), basic('other', 'correct-horse-battery'), 'Basic !!!', 'Bearer x']) {
      expect((await rampart.request('/openapi.json', { headers: { authorization: auth } })).status).toBe(401);
    }
  });

  it('serves the OpenAPI document generated from the route schemas', async () => {
    const res = await rampart.request('/openapi.json', { headers: { authorization: basic('docs', 'correct-horse-battery') } });
    expect(res.status).toBe(200);
    const doc = res.json<{ openapi: string; paths: Record<string, unknown> }>();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/health', '/readiness', '/test/echo', '/test/items/{id}']));
    expect(JSON.stringify(doc.paths['/test/echo'])).toContain('"minLength":1');
  });

  it('serves the document as YAML too (Swagger UI uses the yaml copy inlined in the bundle)', async () => {
    const res = await rampart.request('/docs/yaml', { headers: { authorization: basic('docs', 'correct-horse-battery') } });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/yaml/);
    expect(res.body).toMatch(/^openapi: 3\./m);
    expect(res.body).toMatch(/^ {2}\/readiness:$/m);
  });

  it('gives the docs pages their own CSP and keeps the strict one everywhere else', async () => {
    const docs = await rampart.request('/docs/static/swagger-ui.css', { headers: { authorization: basic('docs', 'correct-horse-battery') } });
    expect(docs.status).toBe(200);
    const api = await rampart.request('/health');
    expect(docs.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(docs.headers['content-security-policy']).not.toMatch(/unsafe-eval/);
    expect(api.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(api.headers['content-security-policy']).not.toMatch(/unsafe/);
  });

  it('renders in a real browser under its CSP without violations', async (ctx) => {
    if (!existsSync(CHROMIUM)) {
      if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is required in CI`);
      ctx.skip(true, 'skipped: no Chromium');
    }
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const context = await browser.newContext({ httpCredentials: { username: 'docs', password: 'correct-horse-battery' } });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('console', (msg) => { if (msg.type() === 'error') problems.push(msg.text()); });
      page.on('pageerror', (err) => problems.push(err.message));
      await page.goto(`${rampart.baseUrl}/docs`);
      await page.locator('.swagger-ui .info .title').waitFor({ timeout: 15_000 });
      expect(await page.locator('.swagger-ui .info .title').innerText()).toContain('Rampart API');
      await page.locator('.opblock-summary-path', { hasText: '/readiness' }).first().waitFor();
      expect(problems.filter((p) => /Content Security Policy|Refused to/.test(p))).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
