import type { LookupFunction } from 'node:net';
import { securityHeaderSet } from '../../platform/http/security-headers.js';
import { DOCS, type Finding } from './finding.js';
import { pinnedLookup, probe, probeFailure, type PinnedAddress, type ProbeResponse } from './http-probe.js';
import { acceptsVersion, inspectCertificate, type TlsTarget, type TlsVersion } from './tls-probe.js';

export interface LiveOptions {
  /** The public address, as users reach it. */
  url: URL;
  /** The plain-http address whose redirect to check; default: the URL's host on port 80. */
  httpUrl?: URL | undefined;
  /** A route under the API tier (`/v1/…`) for the rate-limit and CORS checks. */
  apiPath: string;
  timeoutMs: number;
  now: Date;
  /** Connect to this address for this host name instead of asking DNS. */
  resolve?: PinnedAddress | undefined;
}

export interface LiveAudit {
  findings: Finding[];
  /** The checks that ran, in order. */
  checked: string[];
}

const DAY_MS = 86_400_000;
/** Certificates renew about 30 days ahead (Let's Encrypt, ACM): 21 days left means renewal failed. */
export const CERTIFICATE_WARNING_DAYS = 21;
export const CERTIFICATE_CRITICAL_DAYS = 7;
/** An origin nobody allowlists: reflecting it means any site may read the answers. */
export const PROBE_ORIGIN = 'https://rampart-doctor.invalid';
const LEGACY_TLS: readonly TlsVersion[] = ['TLSv1', 'TLSv1.1'];
// The set Rampart itself sends (HSTS on): a proxy in front may add to it, not take from it.
const EXPECTED_HEADERS = Object.keys(securityHeaderSet({ hsts: true })).sort();
const ONE_YEAR_S = 31_536_000;

/** The live checks against a running deployment, over the network, as an outsider sees it. */
export async function liveFindings(options: LiveOptions): Promise<LiveAudit> {
  const { url } = options;
  const findings: Finding[] = [];
  const checked: string[] = [];
  const lookup = options.resolve ? pinnedLookup(options.resolve) : undefined;
  const at = (path: string) => new URL(path, url);
  const get = (path: string, headers?: Record<string, string>) => probe(at(path), { headers, timeoutMs: options.timeoutMs, lookup });

  let root: ProbeResponse;
  try {
    root = await get(url.pathname);
  } catch (error) {
    findings.push({ id: 'unreachable', severity: 'critical', message: `${url.href} did not answer (${probeFailure(error)})`, fix: 'check the address, DNS and that the proxy or load balancer listens', docs: DOCS.doctor });
    return { findings, checked: ['reachable'] };
  }
  checked.push('reachable');

  if (url.protocol === 'https:') {
    checked.push('tls');
    findings.push(...(await tlsFindings({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 443), timeoutMs: options.timeoutMs, lookup }, options.now)));
  } else {
    findings.push({ id: 'not-https', severity: 'critical', message: `${url.origin} is plain http: credentials and tokens cross the network readable`, fix: 'terminate TLS in front of Rampart (nginx or Caddy) and audit the https:// address', docs: DOCS.deploying });
  }

  checked.push('headers');
  findings.push(...headerFindings(root, url.protocol === 'https:'));

  if (url.protocol === 'https:') {
    checked.push('redirect');
    findings.push(...(await redirectFindings(options.httpUrl ?? new URL(`http://${url.host.replace(/:\d+$/, '')}/`), { ...options, lookup })));
  }

  checked.push('exposed-endpoints');
  findings.push(...(await exposureFindings(get)));

  checked.push('cors');
  findings.push(...(await corsFindings(at(options.apiPath), options.timeoutMs, lookup)));

  checked.push('rate-limit-headers');
  try {
    const api = await get(options.apiPath);
    if (!['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'].every((h) => api.headers[h] !== undefined)) {
      findings.push({ id: 'rate-limit-headers-missing', severity: 'warning', message: `${options.apiPath} answered ${api.status} without RateLimit-Limit/-Remaining/-Reset: no rate limit is visible on the API`, fix: 'keep RATE_LIMIT_ENABLED on (the default) and let the proxy pass the RateLimit-* headers through', docs: DOCS.rateLimits });
    }
  } catch (error) {
    findings.push(unanswered(options.apiPath, error, DOCS.rateLimits));
  }

  checked.push('readiness');
  findings.push(...(await readinessFindings(get)));

  return { findings, checked };
}

async function tlsFindings(target: TlsTarget, now: Date): Promise<Finding[]> {
  const findings: Finding[] = [];
  const where = `${target.host}:${target.port}`;
  try {
    const handshake = await inspectCertificate(target);
    if (!handshake.trusted) {
      findings.push({ id: 'tls-certificate-untrusted', severity: 'critical', message: `the certificate of ${where} is not trusted (${handshake.untrustedBecause})`, fix: 'serve a certificate for this host name from a public CA (Let\'s Encrypt, ACM) with its full chain', docs: DOCS.deploying });
    }
    const daysLeft = Math.floor((handshake.notAfter.getTime() - now.getTime()) / DAY_MS);
    const until = handshake.notAfter.toISOString().slice(0, 10);
    if (daysLeft < 0) {
      findings.push({ id: 'tls-certificate-expired', severity: 'critical', message: `the certificate of ${where} expired on ${until}`, fix: 'renew the certificate now, then automate renewal (certbot, Caddy, ACM)', docs: DOCS.deploying });
    } else if (daysLeft < CERTIFICATE_WARNING_DAYS) {
      findings.push({ id: 'tls-certificate-expiring', severity: daysLeft < CERTIFICATE_CRITICAL_DAYS ? 'critical' : 'warning', message: `the certificate of ${where} expires in ${daysLeft} days (${until})`, fix: 'renew it and check why automatic renewal (usually 30 days ahead) did not', docs: DOCS.deploying });
    }
    const legacy: TlsVersion[] = [];
    for (const version of LEGACY_TLS) if (await acceptsVersion(target, version)) legacy.push(version);
    if (legacy.length > 0) {
      findings.push({ id: 'tls-legacy-version', severity: 'critical', message: `${where} accepts ${legacy.map((v) => (v === 'TLSv1' ? 'TLS 1.0' : v.replace('TLSv', 'TLS '))).join(' and ')}`, fix: 'allow TLS 1.2 and 1.3 only (nginx: ssl_protocols TLSv1.2 TLSv1.3; Caddy does by default)', docs: DOCS.deploying });
    }
    if (!(await acceptsVersion(target, 'TLSv1.3'))) {
      findings.push({ id: 'tls-1.3-missing', severity: 'info', message: `${where} does not offer TLS 1.3`, fix: 'enable TLS 1.3 beside 1.2 (faster handshakes, no legacy ciphers)', docs: DOCS.deploying });
    }
  } catch (error) {
    findings.push({ id: 'tls-handshake-failed', severity: 'critical', message: `no TLS handshake with ${where} (${probeFailure(error)})`, fix: 'check the proxy\'s certificate and protocol settings', docs: DOCS.deploying });
  }
  return findings;
}

function headerFindings(root: ProbeResponse, https: boolean): Finding[] {
  const findings: Finding[] = [];
  for (const name of EXPECTED_HEADERS) {
    // HSTS over plain http means nothing to a browser; the missing TLS is the finding there.
    if (name === 'strict-transport-security' && !https) continue;
    const count = root.counts[name] ?? 0;
    if (count === 0) {
      findings.push(name === 'strict-transport-security'
        ? { id: 'hsts-missing', severity: 'critical', message: 'no Strict-Transport-Security header: a first visit over http can be intercepted', fix: 'set FORCE_HTTPS=true (Rampart sends max-age=31536000; includeSubDomains; preload)', docs: DOCS.httpBehaviour }
        : { id: 'header-missing', severity: 'warning', message: `the ${name} header is missing`, fix: `let Rampart's ${name} through (or set it in the proxy exactly once)`, docs: DOCS.httpBehaviour });
    } else if (count > 1) {
      findings.push({ id: 'header-duplicated', severity: 'warning', message: `the ${name} header is sent ${count} times (Rampart and the proxy both set it)`, fix: 'set it in one place only: Rampart sets the security headers, the proxy should not add them again', docs: DOCS.httpBehaviour });
    }
  }
  const hsts = root.headers['strict-transport-security'];
  if (https && hsts !== undefined && (root.counts['strict-transport-security'] ?? 0) === 1) {
    const maxAge = Number(/max-age=(\d+)/i.exec(hsts)?.[1] ?? 0);
    if (maxAge < ONE_YEAR_S || !/includesubdomains/i.test(hsts)) {
      findings.push({ id: 'hsts-weak', severity: 'warning', message: `Strict-Transport-Security is "${hsts}"`, fix: 'max-age of at least a year with includeSubDomains (Rampart\'s own: max-age=31536000; includeSubDomains; preload)', docs: DOCS.httpBehaviour });
    }
  }
  const server = root.headers.server;
  if (root.headers['x-powered-by'] !== undefined || (server !== undefined && /\d/.test(server))) {
    findings.push({ id: 'version-disclosed', severity: 'info', message: `the response names its software version (${root.headers['x-powered-by'] ?? server})`, fix: 'hide versions (nginx: server_tokens off; remove X-Powered-By)', docs: DOCS.httpBehaviour });
  }
  return findings;
}

async function redirectFindings(httpUrl: URL, options: LiveOptions & { lookup: LookupFunction | undefined }): Promise<Finding[]> {
  const where = httpUrl.origin;
  let answer: ProbeResponse;
  try {
    answer = await probe(httpUrl, { timeoutMs: options.timeoutMs, lookup: options.lookup });
  } catch (error) {
    return [{ id: 'http-closed', severity: 'info', message: `${where} does not answer (${probeFailure(error)}): someone typing the bare address gets nothing`, fix: 'listen on port 80 and redirect to https (the proxy does it)', docs: DOCS.httpBehaviour }];
  }
  const location = answer.headers.location;
  if (answer.status < 300 || answer.status >= 400 || location === undefined) {
    return [{ id: 'http-not-redirected', severity: 'critical', message: `${httpUrl.href} answered ${answer.status} over plain http instead of redirecting to https`, fix: 'set FORCE_HTTPS=true with the proxy in TRUSTED_PROXIES (or redirect in the proxy)', docs: DOCS.httpBehaviour }];
  }
  const target = new URL(location, httpUrl);
  if (target.protocol !== 'https:') {
    return [{ id: 'http-not-redirected', severity: 'critical', message: `${httpUrl.href} redirects to ${target.origin}, not to https`, fix: 'redirect to the https:// address', docs: DOCS.httpBehaviour }];
  }
  const findings: Finding[] = [];
  if (target.hostname !== options.url.hostname) {
    findings.push({ id: 'http-redirect-elsewhere', severity: 'warning', message: `${httpUrl.href} redirects to another host (${target.hostname})`, fix: 'redirect to the same host name over https', docs: DOCS.httpBehaviour });
  }
  if (answer.status === 302 || answer.status === 307) {
    findings.push({ id: 'http-redirect-temporary', severity: 'warning', message: `${httpUrl.href} redirects with ${answer.status} (temporary)`, fix: 'redirect permanently: 301 for GET/HEAD, 308 for other methods', docs: DOCS.httpBehaviour });
  }
  try {
    const post = await probe(new URL(options.apiPath, httpUrl), { method: 'POST', headers: { 'content-length': '0' }, timeoutMs: options.timeoutMs, lookup: options.lookup });
    if (post.status === 301 || post.status === 302) {
      findings.push({ id: 'http-redirect-changes-method', severity: 'warning', message: `a POST over http is redirected with ${post.status}: clients resend it as a GET and lose the body`, fix: 'redirect methods other than GET/HEAD with 308 (Rampart does; so do the shipped proxy configurations)', docs: DOCS.httpBehaviour });
    }
  } catch {
    // The GET above answered: a refused POST changes nothing a user sees.
  }
  return findings;
}

async function exposureFindings(get: (path: string, headers?: Record<string, string>) => Promise<ProbeResponse>): Promise<Finding[]> {
  const findings: Finding[] = [];
  try {
    const metrics = await get('/metrics');
    if (metrics.status >= 200 && metrics.status < 300) {
      const prometheus = /^# (HELP|TYPE) /m.test(metrics.body);
      findings.push({ id: 'metrics-public', severity: 'critical', message: `/metrics answers ${metrics.status} on the public address${prometheus ? ' with Prometheus metrics' : ''}`, fix: 'never route /metrics publicly: Prometheus scrapes METRICS_PORT on the internal network', docs: DOCS.operations });
    }
  } catch (error) {
    findings.push(unanswered('/metrics', error, DOCS.operations));
  }
  const open: string[] = [];
  for (const path of ['/docs', '/openapi.json']) {
    try {
      const answer = await get(path);
      if (answer.status >= 200 && answer.status < 300) open.push(path);
    } catch (error) {
      findings.push(unanswered(path, error, DOCS.httpBehaviour));
    }
  }
  if (open.length > 0) {
    findings.push({ id: 'docs-public', severity: 'critical', message: `${open.join(' and ')} answer without credentials: the whole API surface is public`, fix: 'set DOCS_USER and DOCS_PASSWORD (Basic Auth), or DOCS_ENABLED=false', docs: DOCS.httpBehaviour });
  }
  return findings;
}

async function corsFindings(api: URL, timeoutMs: number, lookup: LookupFunction | undefined): Promise<Finding[]> {
  const answers: Array<{ kind: string; response: ProbeResponse }> = [];
  const origin = { origin: PROBE_ORIGIN };
  try {
    answers.push({ kind: 'GET', response: await probe(api, { headers: origin, timeoutMs, lookup }) });
    answers.push({ kind: 'preflight', response: await probe(api, { method: 'OPTIONS', headers: { ...origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' }, timeoutMs, lookup }) });
  } catch (error) {
    return [unanswered(api.pathname, error, DOCS.httpBehaviour)];
  }
  for (const { kind, response } of answers) {
    const allowed = response.headers['access-control-allow-origin'];
    if (allowed === '*' || allowed === PROBE_ORIGIN) {
      const credentials = response.headers['access-control-allow-credentials'] === 'true';
      return [{
        id: 'cors-any-origin',
        severity: 'critical',
        message: `${api.pathname} lets any origin read it (${kind} from ${PROBE_ORIGIN} got Access-Control-Allow-Origin: ${allowed}${credentials ? ', with credentials' : ''})`,
        fix: 'list the exact origins of your web apps in CORS_ORIGINS; never "*" or a reflected Origin',
        docs: DOCS.httpBehaviour,
      }];
    }
  }
  return [];
}

async function readinessFindings(get: (path: string) => Promise<ProbeResponse>): Promise<Finding[]> {
  let answer: ProbeResponse;
  try {
    answer = await get('/readiness');
  } catch (error) {
    return [unanswered('/readiness', error, DOCS.operations)];
  }
  let body: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(answer.body);
    if (parsed !== null && typeof parsed === 'object') body = parsed as Record<string, unknown>;
  } catch {
    body = undefined;
  }
  if ((answer.status !== 200 && answer.status !== 503) || body === undefined) {
    return [{ id: 'readiness-missing', severity: 'warning', message: `/readiness answered ${answer.status}${body === undefined ? ' without a JSON report' : ''}: load balancers cannot tell when to stop routing here`, fix: 'route /readiness to Rampart and point the load balancer\'s health check at it', docs: DOCS.operations }];
  }
  const findings: Finding[] = [];
  const failing = Object.entries(body).filter(([, v]) => typeof v === 'object' && v !== null && (v as { ok?: unknown }).ok === false).map(([name]) => name);
  if (answer.status === 503) {
    findings.push({ id: 'readiness-unavailable', severity: 'critical', message: `/readiness is 503 (${String(body.status)}${failing.length > 0 ? `: ${failing.join(', ')} failing` : ''})`, fix: 'see the full report on METRICS_PORT/readiness for the failing dependency', docs: DOCS.operations });
  } else if (body.status !== 'ok') {
    findings.push({ id: 'readiness-degraded', severity: 'warning', message: `/readiness is ${String(body.status)}${failing.length > 0 ? ` (${failing.join(', ')} failing)` : ''}`, fix: 'see the full report on METRICS_PORT/readiness for the failing dependency', docs: DOCS.operations });
  }
  // The minimal form is the status and {ok} per dependency; anything more is for operators.
  const detailed = Object.entries(body).some(([name, v]) => name !== 'status' && !(typeof v === 'object' && v !== null && Object.keys(v).length === 1 && 'ok' in v));
  if (detailed) {
    findings.push({ id: 'readiness-detail-public', severity: 'warning', message: '/readiness tells outsiders versions, workers and dependency details', fix: 'unset READINESS_DETAIL (minimal in production); the full report stays on METRICS_PORT', docs: DOCS.operations });
  }
  return findings;
}

function unanswered(path: string, error: unknown, docs: Finding['docs']): Finding {
  return { id: 'probe-failed', severity: 'warning', message: `${path} did not answer (${probeFailure(error)}), so it was not checked`, fix: 'run the audit again; a timeout under load is worth a look of its own', docs };
}
