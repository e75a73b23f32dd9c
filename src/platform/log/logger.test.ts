import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { lines, destination };
}

describe('logger redaction', () => {
  const make = () => {
    const { lines, destination } = capture();
    const logger = createLogger({ level: 'info', secretKeys: ['docsPassword', 'DOCS_PASSWORD', 'databaseUrl'], secretValues: ['s3cr3t-value-xyz'], destination });
    return { lines, logger };
  };

  it('redacts credential headers and password fields at every depth', () => {
    const { lines, logger } = make();
    logger.info({
      req: { headers: { authorization: 'Bearer abc', cookie: 'sid=1', 'X-API-Key': 'rk_live_123', accept: 'json' } },
      deep: { a: { b: { c: { password: 'pw', list: [{ refresh_token: 'rt', keep: 'visible' }] } } } },
      docsPassword: 'by-config-name',
      DOCS_PASSWORD: 'by-env-name',
      databaseUrl: 'postgres://u:p@h/d',
    }, 'hello');
    const line = lines[0]!;
    const text = JSON.stringify(line);
    for (const leaked of ['Bearer abc', 'sid=1', 'rk_live_123', '"pw"', '"rt"', 'by-config-name', 'by-env-name', 'postgres://u:p@h/d']) expect(text).not.toContain(leaked);
    expect(line).toMatchObject({
      req: { headers: { authorization: '[redacted]', cookie: '[redacted]', 'X-API-Key': '[redacted]', accept: 'json' } },
      deep: { a: { b: { c: { password: '[redacted]', list: [{ refresh_token: '[redacted]', keep: 'visible' }] } } } },
    });
  });

  it('scrubs secret values from messages, nested strings and errors', () => {
    const { lines, logger } = make();
    logger.info('connecting with s3cr3t-value-xyz');
    logger.error({ err: new Error('login failed for s3cr3t-value-xyz'), ctx: { note: ['x s3cr3t-value-xyz y'] } }, 'boom');
    const text = JSON.stringify(lines);
    expect(text).not.toContain('s3cr3t-value-xyz');
    expect(lines[0]!.msg).toBe('connecting with [redacted]');
    expect((lines[1]!.err as { message: string }).message).toBe('login failed for [redacted]');
    expect((lines[1]!.err as { stack: string }).stack).toMatch(/Error: login failed for \[redacted\]/);
  });

  it('survives cyclic objects', () => {
    const { lines, logger } = make();
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    logger.info({ a }, 'cyclic');
    expect(lines[0]!.a).toEqual({ name: 'a', self: '[truncated]' });
  });

  it('writes time, level label and msg', () => {
    const { lines, logger } = make();
    logger.warn('careful');
    expect(lines[0]).toMatchObject({ level: 'warn', msg: 'careful' });
    expect(new Date(lines[0]!.time as string).toString()).not.toBe('Invalid Date');
  });
});
