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
  /** Set while tracing is on: the request's server span. */
  trace?: { traceId: string; spanId: string };
}

/**
 * The one line logged per request, in the same shape pino writes
 * (`{"level":"info","time":…,"correlation_id":…,"msg":"request completed"}`), serialised by
 * hand: it is the hottest log call, its fields are known and carry no secrets except
 * possibly the path, which is scrubbed like any other string.
 */
export function createRequestLineWriter(destination: DestinationStream, redactor: Redactor, enabled: () => boolean) {
  // The ISO text up to the seconds ("2026-12-02T01:10:59.") changes once a second; only the
  // milliseconds are added per line (Date#toISOString costs more than the rest of the line).
  let lastSecond = -1;
  let secondPrefix = '';
  const isoNow = () => {
    const now = Date.now();
    const second = Math.floor(now / 1000);
    if (second !== lastSecond) {
      lastSecond = second;
      secondPrefix = new Date(second * 1000).toISOString().slice(0, 20);
    }
    const ms = now - second * 1000;
    return `${secondPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
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
    // Trace and span ids are lowercase hex from the SDK: no escaping either.
    const trace = line.trace ? `,"trace_id":"${line.trace.traceId}","span_id":"${line.trace.spanId}"` : '';
    destination.write(
      `{"level":"info","time":"${isoNow()}","correlation_id":"${line.correlationId}"${trace},"method":"${line.method}",` +
        `"route":${quotedRoute(line.route)},"path":${JSON.stringify(redactor.scrub(line.path))},"status":${line.status},` +
        `"duration_ms":${Math.round(line.durationMs * 100) / 100},"client_ip":${PLAIN_ADDRESS.test(line.clientIp) ? `"${line.clientIp}"` : JSON.stringify(line.clientIp)},"msg":"request completed"}\n`,
    );
  };
}

export type RequestLineWriter = ReturnType<typeof createRequestLineWriter>;
