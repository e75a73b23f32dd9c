import type { DestinationStream } from 'pino';
import type { Redactor } from './redact.js';

const PLAIN_ADDRESS = /^[0-9A-Fa-f:.]{1,45}$/;

export interface RequestLine {
  correlationId: string;
  method: string;
  route: string;
  path: string;
  status: number;
  durationMs: number;
  clientIp: string;
}

/**
 * The one line logged per request, in the same shape pino writes
 * (`{"level":"info","time":…,"correlation_id":…,"msg":"request completed"}`), serialised by
 * hand: it is the hottest log call, its fields are known and carry no secrets except
 * possibly the path, which is scrubbed like any other string.
 */
export function createRequestLineWriter(destination: DestinationStream, redactor: Redactor, enabled: () => boolean) {
  let lastMs = 0;
  let lastIso = '';
  const isoNow = () => {
    const now = Date.now();
    if (now !== lastMs) {
      lastMs = now;
      lastIso = new Date(now).toISOString();
    }
    return lastIso;
  };
  // Correlation ids are validated to [A-Za-z0-9._-] or minted and methods are HTTP tokens:
  // neither needs JSON escaping. Routes come from a small set and are escaped once each; the
  // path is client input and always escaped, and so is a client IP that is not plainly an
  // address (a trusted proxy can forward any X-Forwarded-For text).
  const routeJson = new Map<string, string>();
  const quotedRoute = (route: string) => {
    let json = routeJson.get(route);
    if (json === undefined) {
      json = JSON.stringify(route);
      routeJson.set(route, json);
    }
    return json;
  };
  return (line: RequestLine): void => {
    if (!enabled()) return;
    destination.write(
      `{"level":"info","time":"${isoNow()}","correlation_id":"${line.correlationId}","method":"${line.method}",` +
        `"route":${quotedRoute(line.route)},"path":${JSON.stringify(redactor.scrub(line.path))},"status":${line.status},` +
        `"duration_ms":${Math.round(line.durationMs * 100) / 100},"client_ip":${PLAIN_ADDRESS.test(line.clientIp) ? `"${line.clientIp}"` : JSON.stringify(line.clientIp)},"msg":"request completed"}\n`,
    );
  };
}

export type RequestLineWriter = ReturnType<typeof createRequestLineWriter>;
