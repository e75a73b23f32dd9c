import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './private-postgres.js';

const run = promisify(execFile);

export interface PrivateRedis {
  url: string;
  port: number;
  /** SIGKILL: connections die the way they do when a server crashes. */
  stop(): Promise<void>;
  start(): Promise<void>;
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: the server keeps its connections but answers nothing, like a hung host. */
  freeze(): void;
  thaw(): void;
  /** Stops the server if it runs and deletes its files. */
  destroy(): Promise<void>;
}

/**
 * Starts a throwaway redis-server (no persistence) on a free port, for tests that must kill
 * and restart it. Never touches the shared Redis.
 */
export async function startPrivateRedis(extraArgs: string[] = [], port?: number): Promise<PrivateRedis> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rampart-redis-'));
  port ??= await freePort();
  const server = await managedServer(dir, port, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extraArgs]);
  return { url: `redis://127.0.0.1:${port}`, port, ...server };
}

export interface PrivateSentinelGroup {
  masterName: string;
  /** `host:port` of the three sentinels. */
  sentinels: string[];
  primary: PrivateRedis;
  replica: PrivateRedis;
  /** Resolves when the sentinels agree the primary at `port` is the master. */
  masterPort(): Promise<number>;
  destroy(): Promise<void>;
}

/** A primary, one replica and three sentinels (quorum 2) that fail over within a few seconds. */
export async function startPrivateSentinelGroup(): Promise<PrivateSentinelGroup> {
  const masterName = 'rampart-test';
  const started: Array<{ destroy(): Promise<void> }> = [];
  try {
    const primary = await startPrivateRedis();
    started.push(primary);
    const replica = await startPrivateRedis(['--replicaof', '127.0.0.1', String(primary.port)]);
    started.push(replica);
    const sentinelPorts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'rampart-sentinel-'));
      const port = await freePort();
      const config = path.join(dir, 'sentinel.conf');
      await writeFile(config, [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${masterName} 127.0.0.1 ${primary.port} 2`,
        `sentinel down-after-milliseconds ${masterName} 1000`,
        `sentinel failover-timeout ${masterName} 3000`,
        `sentinel parallel-syncs ${masterName} 1`,
        '',
      ].join('\n'));
      started.push(await managedServer(dir, port, [config, '--sentinel']));
      sentinelPorts.push(port);
    }
    // Sentinels find each other and the replica through the primary; a failover needs both.
    await until(async () => {
      for (const port of sentinelPorts) {
        const peers = await cli(port, 'sentinel', 'sentinels', masterName);
        const replicas = await cli(port, 'sentinel', 'replicas', masterName);
        if ((peers.match(/^name$/gm) ?? []).length < 2 || !/^name$/m.test(replicas)) return false;
      }
      return /master_link_status:up/.test(await cli(replica.port, 'info', 'replication'));
    }, 20_000, 'sentinels did not discover each other and the replica');
    return {
      masterName,
      sentinels: sentinelPorts.map((port) => `127.0.0.1:${port}`),
      primary,
      replica,
      async masterPort() {
        const answer = await cli(sentinelPorts[0]!, 'sentinel', 'get-master-addr-by-name', masterName);
        return Number(answer.trim().split('\n')[1]);
      },
      async destroy() {
        await Promise.all(started.map((s) => s.destroy()));
      },
    };
  } catch (error) {
    await Promise.all(started.map((s) => s.destroy()));
    throw error;
  }
}

export interface PrivateCluster {
  /** `host:port` of the three masters. */
  nodes: string[];
  destroy(): Promise<void>;
}

/** Three cluster-enabled masters (no replicas), joined with `redis-cli --cluster create`. */
export async function startPrivateCluster(): Promise<PrivateCluster> {
  const started: PrivateRedis[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < 3; i++) {
      // The cluster bus listens on port + 10000; both must be free.
      const port = await freePortWithBus();
      started.push(await startPrivateRedis(['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000'], port));
      ports.push(port);
    }
    const nodes = ports.map((port) => `127.0.0.1:${port}`);
    await run('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
    await until(async () => {
      for (const port of ports) if (!/cluster_state:ok/.test(await cli(port, 'cluster', 'info'))) return false;
      return true;
    }, 20_000, 'cluster did not reach cluster_state:ok');
    return { nodes, destroy: async () => { await Promise.all(started.map((s) => s.destroy())); } };
  } catch (error) {
    await Promise.all(started.map((s) => s.destroy()));
    throw error;
  }
}

async function managedServer(dir: string, port: number, args: string[]): Promise<Omit<PrivateRedis, 'url' | 'port'>> {
  let child: ChildProcess | undefined;
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  const start = async () => {
    if (child) return;
    const spawned = spawn('redis-server', args, { cwd: dir, stdio: 'ignore' });
    child = spawned;
    spawned.once('exit', () => {
      if (child === spawned) child = undefined;
    });
    await until(() => ping(port), 10_000, `redis-server on port ${port} did not start`);
  };
  await start();
  return {
    stop,
    start,
    async restart() {
      await stop();
      await start();
    },
    freeze: () => void child?.kill('SIGSTOP'),
    thaw: () => void child?.kill('SIGCONT'),
    async destroy() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function freePortWithBus(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort();
    if (port + 10_000 < 65_536 && (await portIsFree(port + 10_000))) return port;
  }
  throw new Error('no free port with a free cluster-bus port');
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 5_000 });
  return stdout;
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => finish(data.toString().startsWith('+PONG')));
  });
}

async function until(condition: () => Promise<boolean>, timeoutMs: number, message: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(message);
}
