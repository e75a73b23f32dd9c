import { describe, expect, it } from 'vitest';
import { createReadiness, publicReadinessDetail } from './readiness-report.js';

const readinessWith = (database: boolean, redis: boolean, shuttingDown = false) => createReadiness({
  checks: [
    { name: 'database', critical: true, check: async () => ({ configured: true, ok: database, details: database ? 'ok:postgres' : 'error: ECONNREFUSED 10.0.0.5:5432' }) },
    { name: 'redis', critical: false, check: async () => ({ configured: true, ok: redis, details: redis ? 'ok:standalone' : 'error: timeout' }) },
  ],
  sections: async () => ({ workers: { alive: 2 } }),
  isShuttingDown: () => shuttingDown,
  version: '1.2.3',
  startedAt: Date.now(),
});

describe('readiness report', () => {
  it('minimal: the same status code and verdict as the full report, without details', async () => {
    for (const [database, redis, shuttingDown, statusCode, status] of [
      [true, true, false, 200, 'ok'],
      [true, false, false, 200, 'degraded'],
      [false, true, false, 503, 'unavailable'],
      [true, true, true, 503, 'shutting_down'],
    ] as const) {
      const readiness = readinessWith(database, redis, shuttingDown);
      const minimal = await readiness.report('minimal');
      const full = await readiness.report('full');
      expect(minimal).toEqual({ statusCode, body: { status, database: { ok: database }, redis: { ok: redis } } });
      expect(full.statusCode).toBe(statusCode);
      expect(full.body).toMatchObject({ status, database: { ok: database, details: expect.any(String) }, workers: { alive: 2 }, version: '1.2.3' });
    }
  });

  it('the public form defaults to minimal in production and full in development; READINESS_DETAIL wins', () => {
    expect(publicReadinessDetail(undefined, true)).toBe('minimal');
    expect(publicReadinessDetail(undefined, false)).toBe('full');
    expect(publicReadinessDetail('full', true)).toBe('full');
    expect(publicReadinessDetail('minimal', false)).toBe('minimal');
  });
});
