import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { COLOURS, type Colour, type DeployFile } from './deploy-file.js';

/** The upstream file for one live address, in the proxy's syntax (as deploy/proxy/ ships it). */
export function renderUpstreams(kind: 'nginx' | 'caddy', address: string): string {
  if (kind === 'caddy') return `# Written by rampart deploy.\nto ${address}\n`;
  return [
    '# Written by rampart deploy.',
    'upstream rampart {',
    '    zone rampart_upstream 64k;',
    `    server ${address} max_fails=1 fail_timeout=5s;`,
    '    keepalive 32;',
    '    keepalive_timeout 4s;',
    '}',
    '',
  ].join('\n');
}

export const addressOf = (host: string, port: number) => `${host.includes(':') ? `[${host}]` : host}:${port}`;

/** The colour the proxy sends traffic to now, read from the upstream file; none on a first deploy. */
export function liveColour(upstreams: string, file: DeployFile): Colour | undefined {
  const listed = (colour: Colour) => new RegExp(`(^|[\\s])${escape(addressOf(file.host, file.colours[colour].port))}([\\s;]|$)`, 'm').test(upstreams);
  const live = COLOURS.filter(listed);
  return live.length === 1 ? live[0] : undefined;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export async function readUpstreams(path: string): Promise<string> {
  return readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });
}

/** Write beside, then rename over: the proxy never reads a half-written file. */
export async function writeUpstreamsAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, path);
}
