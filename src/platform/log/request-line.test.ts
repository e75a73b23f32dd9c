import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRedactor } from './redact.js';
import { createRequestLineWriter, type RequestLine } from './request-line.js';

const line: RequestLine = { correlationId: 'abc-123', method: 'GET', route: '/v1/items/:id', path: '/v1/items/7', status: 200, durationMs: 1.23456, clientIp: '203.0.113.9' };

function write(overrides: Partial<RequestLine>, secrets: string[] = []) {
  const out: string[] = [];
  const writer = createRequestLineWriter({ write: (s: string) => out.push(s) }, createRedactor([], secrets), () => true);
  writer({ ...line, ...overrides });
  return out;
}

describe('request line', () => {
  afterEach(() => vi.useRealTimers());

  it('is one JSON line with the documented fields', () => {
    const [text] = write({});
    expect(text!.endsWith('\n')).toBe(true);
    expect(JSON.parse(text!)).toEqual({ level: 'info', time: expect.any(String), correlation_id: 'abc-123', method: 'GET', route: '/v1/items/:id', path: '/v1/items/7', status: 200, duration_ms: 1.23, client_ip: '203.0.113.9', msg: 'request completed' });
  });

  it('stays valid JSON whatever the path, route or forwarded address contain', () => {
    const [text] = write({ path: '/a"b\\c\n\u0000', route: '/weird"route', clientIp: 'x", "level":"fatal' });
    const parsed = JSON.parse(text!);
    expect(parsed.path).toBe('/a"b\\c\n\u0000');
    expect(parsed.route).toBe('/weird"route');
    expect(parsed.client_ip).toBe('x", "level":"fatal');
    expect(parsed.level).toBe('info');
  });

  it('scrubs secret values from the path', () => {
    const [text] = write({ path: '/reset/tok-supersecret-123' }, ['tok-supersecret-123']);
    expect(JSON.parse(text!).path).toBe('/reset/[redacted]');
  });

  it('stamps the same time text as Date#toISOString, to the millisecond, across seconds', () => {
    const out: string[] = [];
    const writer = createRequestLineWriter({ write: (s: string) => out.push(s) }, createRedactor([], []), () => true);
    const instants = ['2026-12-02T01:02:03.004Z', '2026-12-02T01:02:03.050Z', '2026-12-02T01:02:03.999Z', '2026-12-02T01:02:04.000Z', '2026-12-31T23:59:59.123Z', '2027-01-01T00:00:00.700Z'];
    vi.useFakeTimers({ toFake: ['Date'] });
    for (const instant of instants) {
      vi.setSystemTime(new Date(instant));
      writer(line);
    }
    expect(out.map((text) => JSON.parse(text).time)).toEqual(instants);
  });

  it('writes nothing when info is disabled', () => {
    const out: string[] = [];
    createRequestLineWriter({ write: (s: string) => out.push(s) }, createRedactor([], []), () => false)(line);
    expect(out).toEqual([]);
  });
});
