export interface SmokeResponse {
  status: number;
  headers: Headers;
  body: Buffer;
  text(): string;
  json<T = Record<string, unknown>>(): T | undefined;
}

export interface SmokeRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: BodyInit;
  /** Only for the redirect check: the request as the proxy forwards a plain-http one. */
  forwardedProto?: 'http' | 'https';
}

export interface SmokeClient {
  base: URL;
  /** True when the base URL is an instance's own port (http): requests then carry what the proxy would add. */
  direct: boolean;
  send(path: string, init?: SmokeRequest): Promise<SmokeResponse>;
  /** The same path on the plain-http form of the base URL, redirects not followed. */
  sendPlain(path: string): Promise<SmokeResponse>;
}

/**
 * HTTP for the smoke checks: redirects are never followed (they are checked), every request has
 * a deadline. Against `http://` (an instance before it joins the proxy) each request says
 * `X-Forwarded-Proto: https`, as the proxy would: Rampart trusts it from TRUSTED_PROXIES.
 */
export function createSmokeClient(baseUrl: string, timeoutMs: number): SmokeClient {
  const base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  const direct = base.protocol === 'http:';
  const send = async (url: URL, init: SmokeRequest = {}): Promise<SmokeResponse> => {
    const headers: Record<string, string> = { 'user-agent': 'rampart-smoke', ...init.headers };
    const proto = init.forwardedProto ?? (direct ? 'https' : undefined);
    if (proto) headers['x-forwarded-proto'] = proto;
    const response = await fetch(url, { method: init.method ?? 'GET', headers, body: init.body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    const body = Buffer.from(await response.arrayBuffer());
    return {
      status: response.status,
      headers: response.headers,
      body,
      text: () => body.toString('utf8'),
      json: <T>() => {
        try {
          return JSON.parse(body.toString('utf8')) as T;
        } catch {
          return undefined;
        }
      },
    };
  };
  return {
    base,
    direct,
    send: (path, init) => send(new URL(path.replace(/^\//, ''), base), init),
    sendPlain: (path) => {
      if (direct) return send(new URL(path.replace(/^\//, ''), base), { forwardedProto: 'http' });
      const plain = new URL(path.replace(/^\//, ''), base);
      plain.protocol = 'http:';
      plain.port = '';
      return send(plain);
    },
  };
}
