import type { DependencyStatus } from '../health/readiness.js';
import type { RedisConnection } from './redis-connection.js';

export interface RedisProbe {
  check(): Promise<DependencyStatus>;
}

/**
 * Readiness of the shared Redis connection, reported as `ok:<mode>`. The connection fails
 * fast while Redis is away and reconnects in the background, so readiness recovers by
 * itself. The connection belongs to the caller, who closes it.
 */
export function createRedisProbe(connection: RedisConnection, connectTimeoutMs = 2_000): RedisProbe {
  return {
    async check() {
      const { client, mode } = connection;
      try {
        // Right after start the first connect gets its timeout, so an early probe does not
        // report a Redis that is merely slow to answer; a lost connection fails at once.
        const starting = client.status === 'wait' || client.status === 'connecting' || client.status === 'connect';
        if (client.status !== 'ready' && !(starting && (await connection.ready(connectTimeoutMs)))) throw new Error(client.status);
        await client.ping();
        return { configured: true, ok: true, details: `ok:${mode}` };
      } catch (err) {
        return { configured: true, ok: false, details: `error: ${(err as Error).message.split(':')[0] || 'unreachable'}` };
      }
    },
  };
}

export const redisNotConfigured: DependencyStatus = { configured: false, ok: true, details: 'not configured: in-process state (single instance)' };
