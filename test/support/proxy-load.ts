import autocannon from 'autocannon';
import { SITE } from './reverse-proxy.js';

/** Keep-alive load through the shipped proxy config, counted by status, for deploy and restart tests. */
export interface ProxyLoad {
  /** Answers so far, by HTTP status. */
  readonly statuses: ReadonlyMap<number, number>;
  answered(): number;
  /** Stops the load; resolves with autocannon's result (undefined when it had failed). */
  stop(): Promise<autocannon.Result | undefined>;
  /** The lines a test prints after `stop()`: answers by status, and failures by kind. */
  summary(result: autocannon.Result): string[];
}

export interface ProxyLoadOptions {
  httpsPort: number;
  /** GETs, which nginx may retry on another instance. */
  getPath: string;
  /** POSTs to the fixture's echo route, which nginx may not retry once sent. */
  echoName: string;
  connections: number;
  /** An upper bound: the test stops the load when it is done. */
  durationS: number;
}

export function startProxyLoad(options: ProxyLoadOptions): ProxyLoad {
  const statuses = new Map<number, number>();
  let instance!: autocannon.Instance;
  // autocannon does not verify certificates; the proxy tests do.
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon({
      url: `https://127.0.0.1:${options.httpsPort}`,
      servername: SITE,
      headers: { host: SITE },
      requests: [
        { method: 'GET', path: options.getPath },
        { method: 'POST', path: '/test/echo', headers: { host: SITE, 'content-type': 'application/json' }, body: JSON.stringify({ name: options.echoName, age: 1 }) },
      ],
      connections: options.connections,
      duration: options.durationS,
    }, (err, result) => (err ? reject(err) : resolve(result)));
  });
  instance.on('response', (_client, statusCode) => statuses.set(statusCode, (statuses.get(statusCode) ?? 0) + 1));
  const answered = () => [...statuses.values()].reduce((a, b) => a + b, 0);
  return {
    statuses,
    answered,
    async stop() {
      instance.stop();
      return done.catch(() => undefined);
    },
    summary(result) {
      return [
        `requests answered: ${answered()} (${[...statuses].map(([code, n]) => `${code}: ${n}`).join(', ')})`,
        `failed: ${result.errors + result.timeouts + result.non2xx} (errors ${result.errors}, timeouts ${result.timeouts}, non-2xx ${result.non2xx}, resets ${result.resets})`,
      ];
    },
  };
}
