import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

// A release in Sentry, and the bundle with its source maps as the release's files, through
// Sentry's documented Web API: "Create a New Release for an Organization" and "Upload a New
// Project Release File". Error reports name their frames `app:///dist/…` (rewriteFrames,
// src/platform/error-reports/start-error-reports.ts), so that is what each file is called.

export interface ReleaseFile {
  /** Name in Sentry, as stack frames show it: `app:///dist/rampart.mjs`. */
  name: string;
  path: string;
  bytes: number;
}

export interface SentryTarget {
  /** `https://sentry.io/` or a self-hosted server. */
  url: string;
  token: string;
  org: string;
  project: string;
}

/** The bundle's files and their source maps (dist/rampart.mjs, dist/chunks/, dist/extensions/, dist/threads/). */
export async function releaseFiles(packageRoot: string): Promise<ReleaseFile[]> {
  const dist = join(packageRoot, 'dist');
  const files: ReleaseFile[] = [];
  const visit = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      // dist/src is tsc's output, which the bundle was made from; it never runs.
      if (entry.isDirectory()) {
        if (path !== join(dist, 'src')) await visit(path);
      } else if (/\.mjs(\.map)?$/.test(entry.name)) {
        files.push({ name: `app:///${relative(packageRoot, path).split(sep).join('/')}`, path, bytes: (await stat(path)).size });
      }
    }
  };
  await visit(dist);
  return files.sort((a, b) => a.name.localeCompare(b.name));
}

export class SentryApiError extends Error {
  constructor(readonly status: number | undefined, what: string, detail: string) {
    super(`${what}: ${status === undefined ? detail : `HTTP ${status}${detail ? ` (${detail})` : ''}`}`);
    this.name = 'SentryApiError';
  }
}

/** Creates the release (an existing one is reused) and uploads every file to it, a few at a time. */
export async function publishRelease(target: SentryTarget, release: string, files: readonly ReleaseFile[], onUploaded: (file: ReleaseFile) => void = () => {}): Promise<void> {
  const base = target.url.replace(/\/+$/, '');
  const org = encodeURIComponent(target.org);
  const project = encodeURIComponent(target.project);
  const headers = { authorization: `Bearer ${target.token}` };
  await call(`creating release ${release}`, `${base}/api/0/organizations/${org}/releases/`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ version: release, projects: [target.project] }),
  });
  const filesUrl = `${base}/api/0/projects/${org}/${project}/releases/${encodeURIComponent(release)}/files/`;
  const queue = [...files];
  const upload = async (): Promise<void> => {
    for (let file = queue.shift(); file; file = queue.shift()) {
      const form = new FormData();
      form.set('name', file.name);
      form.set('file', new Blob([await readFile(file.path)]), file.name.split('/').at(-1));
      // 409: a file of that name is already in the release (a re-run); it is the same build.
      await call(`uploading ${file.name}`, filesUrl, { method: 'POST', headers, body: form }, [409]);
      onUploaded(file);
    }
  };
  await Promise.all(Array.from({ length: 4 }, upload));
}

async function call(what: string, url: string, init: RequestInit, alsoFine: readonly number[] = []): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(60_000) });
  } catch (err) {
    throw new SentryApiError(undefined, what, err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err));
  }
  // Success includes 208: the release already existed (a re-run).
  if (response.ok || alsoFine.includes(response.status)) return;
  const detail = await response.json().then((body: unknown) => (body && typeof body === 'object' && 'detail' in body ? String(body.detail) : ''), () => '');
  throw new SentryApiError(response.status, what, detail.slice(0, 200));
}
