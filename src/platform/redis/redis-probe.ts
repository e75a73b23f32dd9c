import { Redis } from 'ioredis';
import type { DependencyStatus } from '../health/readiness.js';

export interface RedisProbe {
  check(): Promise<DependencyStatus>;
  close(): Promise<void>;
}

/**
 * A dedicated connection for readiness: commands fail fast while Redis is away (no offline
 * queue, one attempt) and the client keeps reconnecting in the background, so readiness
 * recovers by itself.
 */
export function createRedisProbe(url: string, connectTimeoutMs: number): RedisProbe {
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: connectTimeoutMs,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  // ioredis emits 'error' on every failed reconnect; readiness reports it instead.
  client.on('error', () => {});
  let connecting: Promise<void> | undefined;
  return {
    async check() {
      try {
        if (client.status === 'wait') connecting ??= client.connect();
        await connecting;
        await client.ping();
        return { configured: true, ok: true, details: 'ok:standalone' };
      } catch (err) {
        connecting = undefined;
        return { configured: true, ok: false, details: `error: ${(err as Error).message.split(':')[0] ?? 'unreachable'}` };
      }
    },
    async close() {
      client.disconnect();
    },
  };
}

export const redisNotConfigured: DependencyStatus = { configured: false, ok: true, details: 'not configured: in-process state (single instance)' };
