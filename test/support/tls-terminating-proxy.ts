import { createServer as createHttpServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { SecureVersion } from 'node:tls';

export interface ProxyOptions {
  certPem: string;
  keyPem: string;
  /** The upstream's base URL (`http://127.0.0.1:PORT`). */
  upstream: string;
  /** Path prefixes sent to another upstream instead: the misrouted `/metrics` of a bad set-up. */
  routes?: Record<string, string>;
  /** Headers the proxy adds to every response, as a proxy configured to set its own would. */
  addHeaders?: Record<string, string>;
  /** Lowest TLS version accepted (default TLSv1.2). Below it, OpenSSL needs security level 0. */
  minVersion?: SecureVersion;
}

export interface TlsTerminatingProxy {
  /** `https://127.0.0.1:PORT` */
  httpsUrl: string;
  /** `http://127.0.0.1:PORT`: the same upstream, reported as plain http. */
  httpUrl: string;
  close(): Promise<void>;
}

/**
 * What a load balancer does in front of Rampart, in a few lines of node: TLS terminated here,
 * each request forwarded with X-Forwarded-Proto and X-Forwarded-For, a plain-http port beside
 * it. Headers go both ways untouched, so whatever the upstream sends is what a client sees.
 */
export async function startTlsTerminatingProxy(options: ProxyOptions): Promise<TlsTerminatingProxy> {
  const forward = (proto: 'http' | 'https') => (incoming: IncomingMessage, outgoing: ServerResponse) => {
    const path = incoming.url ?? '/';
    const prefix = Object.keys(options.routes ?? {}).find((p) => path === p || path.startsWith(`${p}?`) || path.startsWith(`${p}/`));
    const upstream = new URL(path, prefix ? options.routes![prefix] : options.upstream);
    const forwardedFor = [incoming.headers['x-forwarded-for'], incoming.socket.remoteAddress].filter(Boolean).join(', ');
    const upstreamRequest = request(upstream, { method: incoming.method, headers: { ...incoming.headers, 'x-forwarded-proto': proto, 'x-forwarded-for': forwardedFor }, agent: false }, (answer) => {
      outgoing.writeHead(answer.statusCode ?? 502, [...answer.rawHeaders, ...Object.entries(options.addHeaders ?? {}).flat()]);
      answer.pipe(outgoing);
    });
    upstreamRequest.on('error', () => {
      outgoing.writeHead(502).end();
    });
    incoming.pipe(upstreamRequest);
  };
  const minVersion = options.minVersion ?? 'TLSv1.2';
  const legacy = minVersion === 'TLSv1' || minVersion === 'TLSv1.1';
  const https = createHttpsServer({ cert: options.certPem, key: options.keyPem, minVersion, ...(legacy ? { ciphers: 'DEFAULT@SECLEVEL=0' } : {}) }, forward('https'));
  const http = createHttpServer(forward('http'));
  const listen = (server: Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  const [httpsPort, httpPort] = await Promise.all([listen(https), listen(http)]);
  const close = (server: Server) => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return {
    httpsUrl: `https://127.0.0.1:${httpsPort}`,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    close: async () => void (await Promise.all([close(https), close(http)])),
  };
}
