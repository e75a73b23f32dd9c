import { lazyRequire } from '../lazy-require.js';
import type * as IORedis from 'ioredis';
import type { Cluster, ClusterNode, Redis, RedisOptions } from 'ioredis';

// Loaded with the first connection: an embedded start, without Redis, does not pay ~85 ms for it.
const loadIORedis = lazyRequire<typeof IORedis>('ioredis');

export type RedisMode = 'standalone' | 'sentinel' | 'cluster';

export interface RedisSettings {
  /** Standalone URL; with Sentinel or Cluster, only its credentials and `rediss:` (TLS) are used. */
  url?: string;
  /** `host:port` list; selects Sentinel mode. */
  sentinels?: readonly string[];
  masterName?: string;
  /** `host:port` seed list; selects Cluster mode (wins over Sentinel). */
  clusterNodes?: readonly string[];
  commandTimeoutMs: number;
  connectTimeoutMs: number;
}

export interface RedisConnection {
  client: Redis | Cluster;
  mode: RedisMode;
  /** Resolves true once the client can take commands, false after `timeoutMs`; never rejects. */
  ready(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export function redisConfigured(settings: Pick<RedisSettings, 'url' | 'sentinels' | 'clusterNodes'>): boolean {
  return Boolean(settings.url) || (settings.sentinels?.length ?? 0) > 0 || (settings.clusterNodes?.length ?? 0) > 0;
}

// Reconnect in the background forever, never faster than every 50 ms nor slower than every
// second: a request must never wait for it, and recovery should be noticed quickly.
const reconnectDelay = (attempt: number) => Math.min(50 * attempt, 1_000);

/**
 * One shared client that fails fast: no offline queue and no retries, so while Redis is
 * away every command errors at once (or after `commandTimeoutMs`) and the caller applies
 * its own degradation. `'error'` events are swallowed; callers report state (readiness).
 */
export function createRedisConnection(settings: RedisSettings): RedisConnection {
  if (!redisConfigured(settings)) throw new Error('Redis is not configured: set REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES');
  const failFast: RedisOptions = {
    ...credentialsOf(settings.url),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: settings.commandTimeoutMs,
    connectTimeout: settings.connectTimeoutMs,
    retryStrategy: reconnectDelay,
    // Commands issued in the same tick share one write: many concurrent limit checks cost
    // one syscall instead of one each.
    enableAutoPipelining: true,
  };

  const ioredis = loadIORedis();
  let client: Redis | Cluster;
  let mode: RedisMode;
  if (settings.clusterNodes?.length) {
    mode = 'cluster';
    const { retryStrategy: _perNode, enableAutoPipelining: _pipelining, ...nodeOptions } = failFast;
    client = new ioredis.Cluster(settings.clusterNodes.map(parseHostPort), {
      redisOptions: nodeOptions,
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      clusterRetryStrategy: reconnectDelay,
      slotsRefreshTimeout: Math.max(settings.connectTimeoutMs, 1_000),
      // A moved slot is followed once or twice; more means the cluster is reshaping and the
      // caller is better served by a quick failure.
      maxRedirections: 3,
      retryDelayOnFailover: 50,
      retryDelayOnClusterDown: 50,
    });
  } else if (settings.sentinels?.length) {
    mode = 'sentinel';
    client = new ioredis.Redis({
      ...failFast,
      sentinels: settings.sentinels.map(parseHostPort),
      name: settings.masterName ?? 'mymaster',
      sentinelRetryStrategy: reconnectDelay,
      // Subscribes to +switch-master so a failover is followed at once, not on the next error.
      failoverDetector: true,
    });
  } else {
    mode = 'standalone';
    client = new ioredis.Redis(settings.url!, failFast);
  }
  client.on('error', () => {});

  // ioredis gives a connection up for good ('end') when a reconnect fails inside its
  // connector, e.g. Sentinel's failover detector closing the connection while a reconnect is
  // still resolving the master (seen under load right after a failover). Only close() may end
  // it: any other end starts a new connection after a pause.
  let closed = false;
  let revive: NodeJS.Timeout | undefined;
  client.on('end', () => {
    if (closed) return;
    clearTimeout(revive);
    revive = setTimeout(() => {
      if (!closed && client.status === 'end') client.connect().catch(() => {});
    }, REVIVE_AFTER_MS);
  });

  return {
    client,
    mode,
    ready: (timeoutMs) => untilReady(client, timeoutMs),
    async close() {
      closed = true;
      clearTimeout(revive);
      client.disconnect();
    },
  };
}

const REVIVE_AFTER_MS = 1_000;

function untilReady(client: Redis | Cluster, timeoutMs: number): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      resolve(ready);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    client.on('ready', onReady);
  });
}

function parseHostPort(entry: string): ClusterNode & { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(entry.trim());
  if (!match) throw new Error(`"${entry}" is not host:port`);
  return { host: match[1]!, port: Number(match[2]) };
}

function credentialsOf(url: string | undefined): Pick<RedisOptions, 'username' | 'password' | 'tls'> {
  if (!url) return {};
  const parsed = new URL(url);
  return {
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}
