import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRampart, type RampartProcess } from '../support/rampart-process.js';

// Loopback is a /8: connecting from 127.0.0.2 makes the test an untrusted client while
// 127.0.0.1 plays the trusted proxy.
const TRUSTED = '127.0.0.1';
const UNTRUSTED = '127.0.0.2';

describe('FORCE_HTTPS behind trusted proxies', () => {
  let rampart: RampartProcess;
  beforeAll(async () => {
    rampart = await startRampart({ env: { FORCE_HTTPS: 'true', TRUSTED_PROXIES: `${TRUSTED}/32` } });
  });
  afterAll(async () => {
    await rampart?.stop();
  });

  it('redirects GET from a trusted proxy reporting http with 301 to the same URL on https', async () => {
    const res = await rampart.request('/test/items/9?x=1', { localAddress: TRUSTED, headers: { 'x-forwarded-proto': 'http', host: 'api.example.com' } });
    expect(res.status).toBe(301);
    expect(res.headers.location).toBe('https://api.example.com/test/items/9?x=1');
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains; preload');
  });

  it('redirects non-GET methods with 308 so the method and body are kept', async () => {
    const res = await rampart.request('/test/echo', { method: 'POST', localAddress: TRUSTED, headers: { 'x-forwarded-proto': 'http', host: 'api.example.com', 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(308);
    expect(res.headers.location).toBe('https://api.example.com/test/echo');
  });

  it('does not redirect requests the trusted proxy received over https', async () => {
    const res = await rampart.request('/test/items/9', { localAddress: TRUSTED, headers: { 'x-forwarded-proto': 'https' } });
    expect(res.status).toBe(200);
  });

  it('ignores X-Forwarded-Proto from an untrusted address', async () => {
    const res = await rampart.request('/test/items/9', { localAddress: UNTRUSTED, headers: { 'x-forwarded-proto': 'http', host: 'evil.example.net' } });
    expect(res.status).toBe(200);
    expect(res.headers.location).toBeUndefined();
  });

  it('never redirects health and readiness probes', async () => {
    for (const path of ['/health', '/readiness']) {
      const res = await rampart.request(path, { localAddress: TRUSTED, headers: { 'x-forwarded-proto': 'http' } });
      expect(res.status, path).toBe(200);
    }
  });

  it('takes the client IP from X-Forwarded-For only when a trusted proxy sent it', async () => {
    await rampart.request('/test/items/1', { localAddress: TRUSTED, headers: { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7', 'x-correlation-id': 'via-proxy' } });
    await rampart.request('/test/items/1', { localAddress: UNTRUSTED, headers: { 'x-forwarded-for': '198.51.100.99', 'x-correlation-id': 'forged-xff' } });
    const viaProxy = await rampart.waitForLog((l) => l.correlation_id === 'via-proxy' && l.msg === 'request completed');
    const forged = await rampart.waitForLog((l) => l.correlation_id === 'forged-xff' && l.msg === 'request completed');
    expect(viaProxy.client_ip).toBe('203.0.113.7');
    expect(forged.client_ip).toBe(UNTRUSTED);
  });

  it('does not let a forged X-Forwarded-For chain through a trusted proxy pick its own IP', async () => {
    // The client sent "X-Forwarded-For: 10.9.9.9" to the proxy, which appended the real address.
    await rampart.request('/test/items/1', { localAddress: TRUSTED, headers: { 'x-forwarded-proto': 'https', 'x-forwarded-for': '10.9.9.9, 198.51.100.20', 'x-correlation-id': 'chained' } });
    const line = await rampart.waitForLog((l) => l.correlation_id === 'chained' && l.msg === 'request completed');
    expect(line.client_ip).toBe('198.51.100.20');
  });
});
