import type { IncomingMessage, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { trustedPeer } from './trusted-peer.js';

export interface GracefulCloseOptions {
  /** Keep accepting and serving this long first, so load balancers see readiness 503 and stop routing. */
  delayMs: number;
  /** After the port closes, time open requests get to finish before their connections are cut. */
  graceMs: number;
}

export interface GracefulCloseSetup {
  /** TRUSTED_PROXIES: balancers whose connections are theirs to close (see below). */
  trustedProxies: readonly string[];
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Shuts the public port down without dropping a request that reached it: serves on for
     * `delayMs`, stops accepting, answers what is in flight or already received (with
     * `Connection: close`), closes idle connections, then closes the app. Resolves false when
     * the grace period ran out and requests had to be cut off.
     *
     * A client is told `Connection: close` from the start of the delay, so it reconnects
     * through its balancer to another instance. A trusted proxy is not: it balances each
     * request itself, and closing its connections only makes it open new ones to us, right up
     * to the moment the port closes, when every connection still in the kernel's accept queue
     * is reset with its request already sent (a POST the proxy may not retry; CI saw one in
     * about 40 restarts). Kept open, they carry the proxy's requests until the port closes;
     * then a new connection is refused (the proxy retries it elsewhere and sets us aside), the
     * next answer on each open one says `Connection: close`, and an idle one is left for the
     * proxy to close (its keep-alive timeout is shorter than ours, KEEP_ALIVE_TIMEOUT_MS, which
     * ends it otherwise): ended by us, it could cross a request the proxy is sending on it.
     */
    closeGracefully(options: GracefulCloseOptions): Promise<boolean>;
  }
}

interface Connection {
  /** From a trusted proxy: see closeGracefully. */
  proxy: boolean;
  requests: number;
  open: Set<ServerResponse>;
  /** Sweeps that found the connection without a request; see FIRST_REQUEST_WAIT_MS. */
  idleSweeps: number;
  ending: boolean;
}

// A connection accepted but not yet read looks idle, though its request may be sitting in the
// socket buffer: it is kept until it has been seen idle this long (and over several turns of the
// event loop, so a starved loop still gets to read it). Node's own server.close() closes such
// connections at once, which reset about half of 20 requests sent 20 ms before SIGTERM.
const FIRST_REQUEST_WAIT_MS = 1_000;
const FIRST_REQUEST_SWEEPS = 3;
const SWEEP_INTERVAL_MS = 25;
const QUIET_TURNS = 3;
const MAX_ACCEPT_WAIT_MS = 2_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const nextLoopTurn = () => new Promise((resolve) => setImmediate(resolve));

/** Tracks the public server's connections so `app.closeGracefully()` can drain them. */
export const gracefulClose = fp(async (app: FastifyInstance, setup: GracefulCloseSetup) => {
  const connections = new Map<Socket, Connection>();
  const fromTrustedProxy = trustedPeer(setup.trustedProxies);
  let draining = false;
  let portClosed = false;
  const toldToClose = (connection: Connection | undefined) => portClosed || (draining && !connection?.proxy);

  let accepted = 0;
  app.server.on('connection', (socket: Socket) => {
    accepted += 1;
    connections.set(socket, { proxy: fromTrustedProxy(socket), requests: 0, open: new Set(), idleSweeps: 0, ending: false });
    socket.once('close', () => connections.delete(socket));
  });
  // Before Fastify's own listener, so the header is in place whatever the route does.
  app.server.prependListener('request', (request: IncomingMessage, response: ServerResponse) => {
    const connection = connections.get(request.socket);
    if (toldToClose(connection)) response.setHeader('Connection', 'close');
    if (!connection) return;
    connection.requests += 1;
    connection.idleSweeps = 0;
    connection.open.add(response);
    response.once('close', () => connection.open.delete(response));
  });

  // Closing the port resets connections the kernel has completed but Node has not accepted yet,
  // and a busy loop accepts them over several turns: wait for turns that accept nothing.
  const acceptWhatIsQueued = async () => {
    const until = Date.now() + MAX_ACCEPT_WAIT_MS;
    let quietTurns = 0;
    while (quietTurns < QUIET_TURNS && Date.now() < until) {
      const before = accepted;
      await nextLoopTurn();
      quietTurns = accepted === before ? quietTurns + 1 : 0;
    }
  };

  app.decorate('closeGracefully', async ({ delayMs, graceMs }: GracefulCloseOptions): Promise<boolean> => {
    const tellOpenResponsesToClose = () => {
      for (const connection of connections.values()) {
        if (!toldToClose(connection)) continue;
        for (const response of connection.open) if (!response.headersSent) response.setHeader('Connection', 'close');
      }
    };
    draining = true;
    tellOpenResponsesToClose();
    await sleep(delayMs);
    await acceptWhatIsQueued();
    // net's close, not http's: since Node 19 http's close() also closes every connection
    // without a request in progress, including those whose request has not been read yet.
    NetServer.prototype.close.call(app.server);
    portClosed = true;
    tellOpenResponsesToClose();

    const deadline = Date.now() + graceMs;
    const firstRequestDeadline = Date.now() + Math.min(FIRST_REQUEST_WAIT_MS, graceMs);
    while (connections.size > 0 && Date.now() < deadline) {
      const now = Date.now();
      for (const [socket, connection] of connections) {
        if (connection.open.size > 0 || connection.ending) continue;
        connection.idleSweeps += 1;
        const waitedForFirstRequest = now >= firstRequestDeadline && connection.idleSweeps >= FIRST_REQUEST_SWEEPS;
        if (connection.requests > 0 ? !connection.proxy : waitedForFirstRequest) {
          connection.ending = true;
          socket.end();
        }
      }
      await sleep(SWEEP_INTERVAL_MS);
    }
    // A proxy's idle connection outliving the grace period cut no request off.
    const clean = [...connections.values()].every((connection) => connection.proxy && connection.open.size === 0 && connection.requests > 0);
    for (const socket of connections.keys()) socket.destroy();
    await app.close();
    return clean;
  });
});
