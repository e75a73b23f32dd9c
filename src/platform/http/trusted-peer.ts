import type { Socket } from 'node:net';
import proxyAddr from 'proxy-addr';

/**
 * Whether a connection comes from one of TRUSTED_PROXIES (the same rule Fastify applies to
 * `X-Forwarded-*`). Parsing the peer's address against the ranges costs more than a cheap
 * request's other work, so each socket is asked once: a keep-alive connection keeps its peer.
 */
export function trustedPeer(trustedProxies: readonly string[]): (socket: Socket) => boolean {
  const trusted = proxyAddr.compile([...trustedProxies]);
  const known = new WeakMap<Socket, boolean>();
  return (socket) => {
    let answer = known.get(socket);
    if (answer === undefined) {
      const peer = socket.remoteAddress;
      answer = peer !== undefined && trusted(peer, 0);
      known.set(socket, answer);
    }
    return answer;
  };
}
