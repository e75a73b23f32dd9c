import { createHash, randomBytes } from 'node:crypto';
import { createSmokeClient, type SmokeClient, type SmokeResponse } from './smoke-client.js';

export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface CheckResult {
  name: CheckName;
  status: CheckStatus;
  detail: string;
  duration_ms: number;
}

export interface SmokeOptions {
  url: string;
  /** Use this API key (scopes documents:read and documents:write) instead of a throwaway account. */
  apiKey?: string;
  skip?: readonly string[];
  /** How long the worker gets to process the uploaded document. */
  workerTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export const CHECK_NAMES = ['https-redirect', 'security-headers', 'health', 'readiness', 'metrics-not-public', 'docs-protected', 'auth', 'documents', 'cleanup'] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

/** What the checks share: the client, and what earlier checks created (for later ones and the clean-up). */
interface SmokeState {
  client: SmokeClient;
  options: SmokeOptions;
  credentials?: Record<string, string>;
  account?: string;
  documentId?: string;
}

class CheckFailed extends Error {}
const fail = (detail: string): never => {
  throw new CheckFailed(detail);
};
const expectStatus = (res: SmokeResponse, expected: number, what: string) => {
  if (res.status !== expected) fail(`${what}: expected ${expected}, got ${res.status}${problemTitle(res)}`);
};
const problemTitle = (res: SmokeResponse) => {
  const title = res.json<{ title?: unknown; detail?: unknown }>();
  return typeof title?.detail === 'string' ? ` (${title.detail})` : typeof title?.title === 'string' ? ` (${title.title})` : '';
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const REQUIRED_HEADERS: Array<[string, (value: string) => boolean, string]> = [
  ['strict-transport-security', (v) => Number(/max-age=(\d+)/.exec(v)?.[1] ?? 0) >= 31_536_000, 'max-age of at least a year'],
  ['content-security-policy', (v) => v.includes('default-src'), 'a default-src'],
  ['x-content-type-options', (v) => v === 'nosniff', 'nosniff'],
  ['x-frame-options', (v) => /^(deny|sameorigin)$/i.test(v), 'DENY'],
  ['referrer-policy', (v) => v !== '' && v !== 'unsafe-url', 'a policy'],
];

const checks: Record<CheckName, (state: SmokeState) => Promise<string>> = {
  async 'https-redirect'({ client }) {
    const res = await client.sendPlain('/v1/me');
    const location = res.headers.get('location') ?? '';
    if (![301, 308].includes(res.status) || !location.startsWith('https://')) fail(`plain http answered ${res.status}${location ? ` → ${location}` : ''}, not a redirect to https (FORCE_HTTPS off?)`);
    return `${res.status} → ${location}`;
  },

  async 'security-headers'({ client }) {
    const res = await client.send('/health');
    const problems: string[] = [];
    for (const [name, valid, wanted] of REQUIRED_HEADERS) {
      const value = res.headers.get(name);
      if (value === null) problems.push(`${name} missing`);
      // fetch joins a repeated header with ", ": a proxy and the app both setting it.
      else if (value.includes(', ') && name !== 'content-security-policy' && name !== 'strict-transport-security' && name !== 'referrer-policy') problems.push(`${name} sent twice`);
      else if (!valid(value)) problems.push(`${name} is "${value}", wanted ${wanted}`);
    }
    if (problems.length > 0) fail(problems.join('; '));
    return REQUIRED_HEADERS.map(([name]) => name).join(', ');
  },

  async health({ client }) {
    const res = await client.send('/health');
    expectStatus(res, 200, 'GET /health');
    return '200';
  },

  async readiness({ client }) {
    const res = await client.send('/readiness');
    const body = res.json<Record<string, unknown>>();
    if (!body) fail(`GET /readiness answered ${res.status} without JSON`);
    const parts: string[] = [];
    for (const name of ['database', 'redis', 'storage', 'secrets']) {
      const dep = body![name] as { configured?: boolean; ok?: boolean; status?: string; details?: string } | undefined;
      if (!dep) continue;
      parts.push(`${name} ${dep.configured === false ? 'not configured' : dep.ok === false ? `DOWN (${dep.details ?? 'error'})` : (dep.status ?? 'ok')}`);
    }
    const workers = body!.workers as { alive?: number | null } | undefined;
    if (workers) parts.push(`workers ${workers.alive ?? 'unknown'} alive`);
    const summary = `${res.status} ${String(body!.status)}: ${parts.join(', ')}`;
    if (res.status !== 200) fail(summary);
    if (workers && workers.alive === 0) fail(`${summary}: no worker is running, uploads will never be processed`);
    return summary;
  },

  async 'metrics-not-public'({ client }) {
    const res = await client.send('/metrics');
    if (res.status === 200) fail('GET /metrics is public (it belongs on the internal metrics port)');
    return `${res.status}`;
  },

  async 'docs-protected'({ client }) {
    const open: string[] = [];
    const statuses: string[] = [];
    for (const path of ['/docs', '/openapi.json']) {
      const res = await client.send(path);
      statuses.push(`${path} ${res.status}`);
      if (res.status >= 200 && res.status < 400) open.push(path);
    }
    if (open.length > 0) fail(`${open.join(' and ')} answered without credentials`);
    return statuses.join(', ');
  },

  async auth(state) {
    const { client, options } = state;
    if (options.apiKey) {
      state.credentials = { 'x-api-key': options.apiKey };
      const res = await client.send('/v1/api-keys/whoami', { headers: state.credentials });
      expectStatus(res, 200, 'GET /v1/api-keys/whoami with the API key');
      return 'API key accepted';
    }
    const email = `smoke-${randomBytes(6).toString('hex')}@example.com`;
    const password = `Smoke-${randomBytes(18).toString('base64url')}`;
    const json = { 'content-type': 'application/json' };
    const signup = await client.send('/v1/auth/signup', { method: 'POST', headers: json, body: JSON.stringify({ email, password }) });
    expectStatus(signup, 201, 'sign-up of a throwaway account (or pass --api-key)');
    state.account = email;
    const login = await client.send('/v1/auth/login', { method: 'POST', headers: json, body: JSON.stringify({ email, password }) });
    expectStatus(login, 200, 'sign-in');
    const token = login.json<{ access_token?: string }>()?.access_token;
    if (!token) fail('sign-in answered 200 without an access token');
    state.credentials = { authorization: `Bearer ${token}` };
    const me = await client.send('/v1/me', { headers: state.credentials });
    expectStatus(me, 200, 'GET /v1/me with the new token');
    return `signed up and in as ${email}`;
  },

  async documents(state) {
    const { client } = state;
    if (!state.credentials) fail('needs the auth check');
    const word = `smoke${randomBytes(5).toString('hex')}`;
    const content = Buffer.from(`Rampart smoke test ${word}: upload, extraction by the worker, search, download.\n`);
    const form = new FormData();
    form.append('file', new Blob([content], { type: 'text/plain' }), `${word}.txt`);
    const upload = await client.send('/v1/documents', { method: 'POST', headers: state.credentials, body: form });
    expectStatus(upload, 201, 'upload');
    const id = upload.json<{ id?: string }>()?.id;
    if (!id) fail('upload answered 201 without an id');
    state.documentId = id;

    const deadline = Date.now() + (state.options.workerTimeoutMs ?? 30_000);
    let status = 'stored';
    while (Date.now() < deadline) {
      const meta = await client.send(`/v1/documents/${id}`, { headers: state.credentials });
      expectStatus(meta, 200, 'document metadata');
      status = meta.json<{ status?: string }>()?.status ?? 'unknown';
      if (status !== 'stored') break;
      await sleep(250);
    }
    if (status !== 'extracted') fail(status === 'stored' ? `the worker did not process the upload within ${Math.round((state.options.workerTimeoutMs ?? 30_000) / 1000)} s (is a worker running?)` : `extraction ended as ${status}`);

    const search = await client.send(`/v1/documents/search?q=${word}`, { headers: state.credentials });
    expectStatus(search, 200, 'search');
    const found = search.json<{ results?: Array<{ id: string }> }>()?.results?.some((r) => r.id === id);
    if (!found) fail(`search for "${word}" did not find the uploaded document`);

    const download = await client.send(`/v1/documents/${id}/content`, { headers: state.credentials });
    expectStatus(download, 200, 'download');
    const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
    if (sha(download.body) !== sha(content)) fail('the downloaded bytes differ from the upload');
    return 'upload → worker extraction → search → download, bytes identical';
  },

  async cleanup(state) {
    const { client } = state;
    const done: string[] = [];
    if (state.documentId && state.credentials) {
      const res = await client.send(`/v1/documents/${state.documentId}`, { method: 'DELETE', headers: state.credentials });
      expectStatus(res, 204, 'deleting the smoke document');
      done.push('document deleted');
    }
    if (state.account && state.credentials) {
      const res = await client.send('/v1/auth/logout', { method: 'POST', headers: state.credentials });
      expectStatus(res, 204, 'signing out');
      // Rampart has no self-service account erasure yet: the account stays, signed out.
      done.push(`signed out (account ${state.account} remains)`);
    }
    return done.length > 0 ? done.join(', ') : 'nothing was created';
  },
};

/** Runs every check not skipped, in order; a check that needs an earlier one reports that. */
export async function runSmoke(options: SmokeOptions): Promise<CheckResult[]> {
  const state: SmokeState = { client: createSmokeClient(options.url, options.requestTimeoutMs ?? 10_000), options };
  const results: CheckResult[] = [];
  for (const name of CHECK_NAMES) {
    if (options.skip?.includes(name)) {
      results.push({ name, status: 'skip', detail: 'skipped (--skip)', duration_ms: 0 });
      continue;
    }
    const started = performance.now();
    try {
      const detail = await checks[name](state);
      results.push({ name, status: 'pass', detail, duration_ms: Math.round(performance.now() - started) });
    } catch (err) {
      const detail = err instanceof CheckFailed ? err.message : `request failed: ${describeError(err)}`;
      results.push({ name, status: 'fail', detail, duration_ms: Math.round(performance.now() - started) });
    }
  }
  return results;
}

function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? err.message;
}
