import os from 'node:os';
import { describe, expect, it, vi } from 'vitest';
import { openDatabase } from '../../src/platform/db/database.js';
import { postgresBinDir, startPrivatePostgres } from '../support/private-postgres.js';

describe.skipIf(!postgresBinDir())('database while PostgreSQL restarts', () => {
  it('reports the outage through check() without crashing, then recovers on the same handle', async () => {
    const server = await startPrivatePostgres();
    const warn = vi.fn();
    const handle = await openDatabase({
      url: server.url,
      dataDir: os.tmpdir(),
      poolMax: 2,
      idleTimeoutMs: 60_000,
      connectTimeoutMs: 1_000,
      logger: { warn },
    });
    try {
      expect(await handle.check(2_000)).toEqual({ ok: true, details: 'ok:postgres' });
      expect(handle.poolStats()).toMatchObject({ total: 1, idle: 1 });

      await server.stop();
      // The idle pooled connection dies with the server; that must arrive as a warning, not a crash.
      await vi.waitFor(() => expect(warn).toHaveBeenCalledWith({ reason: expect.any(String) }, 'idle PostgreSQL connection lost'));
      const down = await handle.check(2_000);
      expect(down.ok).toBe(false);
      expect(down.details).toMatch(/^error: /);

      await server.start();
      expect(await handle.check(2_000)).toEqual({ ok: true, details: 'ok:postgres' });
    } finally {
      await handle.close();
      await server.destroy();
    }
  });
});
