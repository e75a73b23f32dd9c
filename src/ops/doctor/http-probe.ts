import { lookup as dnsLookup } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';

export interface ProbeResponse {
  status: number;
  /** Lower-cased names; a repeated header joined as Node joins it. */
  headers: Record<string, string>;
  /** How often each (lower-cased) header appeared: a header set twice (by Rampart and a proxy) shows here. */
  counts: Record<string, number>;
  /** The body, up to the probe's limit. */
  body: string;
}

export interface ProbeOptions {
  method?: string;
  headers?: Record<string, string>;
  timeoutMs: number;
  /** Keep at most this much of the body (default 64 KiB: pages are judged by their start). */
  maxBodyBytes?: number;
  lookup?: LookupFunction | undefined;
}

/** A host name answered with a fixed address (curl's --resolve): audit a site before DNS points at it. */
export interface PinnedAddress {
  host: string;
  address: string;
}

export function pinnedLookup(pin: PinnedAddress): LookupFunction {
  const family = isIP(pin.address);
  return (hostname, options, callback) => {
    if (hostname.toLowerCase() !== pin.host.toLowerCase()) return dnsLookup(hostname, options, callback);
    // net asks for every address (`all`) when it may try both families.
    if (options.all) callback(null, [{ address: pin.address, family }]);
    else callback(null, pin.address, family);
  };
}

/**
 * One request, no redirects followed, no connection reuse. The certificate is not verified
 * here: the TLS check reports an untrusted certificate once, and the other checks still run.
 */
export function probe(url: URL, options: ProbeOptions): Promise<ProbeResponse> {
  const limit = options.maxBodyBytes ?? 64 * 1024;
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method: options.method ?? 'GET', headers: { 'user-agent': 'rampart-doctor', ...options.headers }, agent: false, rejectUnauthorized: false, timeout: options.timeoutMs, ...(options.lookup ? { lookup: options.lookup } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < limit) chunks.push(chunk);
        size += chunk.length;
      });
      res.on('end', () => {
        const headers: Record<string, string> = {};
        const counts: Record<string, number> = {};
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          const name = res.rawHeaders[i]!.toLowerCase();
          counts[name] = (counts[name] ?? 0) + 1;
          headers[name] = headers[name] === undefined ? res.rawHeaders[i + 1]! : `${headers[name]}, ${res.rawHeaders[i + 1]!}`;
        }
        resolve({ status: res.statusCode ?? 0, headers, counts, body: Buffer.concat(chunks).subarray(0, limit).toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${options.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end();
  });
}

/** A short reason for a failed request: the error code, never a body. */
export function probeFailure(error: unknown): string {
  const e = error as { code?: string; message?: string };
  return e?.code ?? e?.message ?? String(error);
}
