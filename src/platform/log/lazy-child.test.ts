import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { withLazyChildren } from './lazy-child.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, logger: pino({ base: undefined }, stream) };
}

describe('lazy child loggers', () => {
  it('builds no pino child until a child logs, and then logs every binding of the chain', async () => {
    const { lines, logger } = capture();
    let built = 0;
    const realChild = logger.child;
    logger.child = function (this: typeof logger, ...args: Parameters<typeof realChild>) {
      built += 1;
      return realChild.apply(this, args);
    } as typeof logger.child;

    const root = withLazyChildren(logger);
    const framework = root.child({}, {});
    const requests = Array.from({ length: 50 }, (_, i) => framework.child({ correlation_id: `req-${i}` }, {}));
    expect(built).toBe(0);

    requests[7]!.child({ step: 'inner' }).warn({ detail: 1 }, 'something odd');
    requests[7]!.info('again');
    await new Promise((resolve) => setImmediate(resolve));
    // pino children inherit the counting `child`: framework, req-7 and inner, none for the other 49.
    expect(built).toBe(3);
    expect(lines).toEqual([
      expect.objectContaining({ level: 40, correlation_id: 'req-7', step: 'inner', detail: 1, msg: 'something odd' }),
      expect.objectContaining({ level: 30, correlation_id: 'req-7', msg: 'again' }),
    ]);
    expect(requests[8]!.isLevelEnabled('info')).toBe(true);
    expect(requests[8]!.level).toBe('info');
  });
});
