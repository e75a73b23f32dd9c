import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { appendFile, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export interface PrivatePostgres {
  /** Trust-auth superuser URL to the `postgres` database. */
  url: string;
  port: number;
  /** The cluster's data directory, owned by `postgres` when the tests run as root. */
  dataDir: string;
  /** `pg_ctl stop -m immediate`: connections die the way they do when a server crashes. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server if it runs and deletes its files. */
  destroy(): Promise<void>;
  /** One statement as the superuser, on a connection of its own (so it works across restarts). */
  query(text: string, params?: unknown[]): Promise<pg.QueryResult>;
}

/**
 * The PostgreSQL server binaries (`initdb`, `pg_ctl`): `$PG_BIN_DIR`, else the newest
 * `/usr/lib/postgresql/<version>/bin`, else undefined.
 */
export function postgresBinDir(): string | undefined {
  if (process.env.PG_BIN_DIR) return process.env.PG_BIN_DIR;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const newest = readdirSync(root)
    .filter((version) => existsSync(path.join(root, version, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a))[0];
  return newest && path.join(root, newest, 'bin');
}

/**
 * Starts a throwaway PostgreSQL cluster on a free port in a temp dir, for tests that must
 * kill and restart the server, or check real password authentication (`passwordAuthFor`:
 * that role logs in with scram-sha-256; the shared cluster trusts everyone on 127.0.0.1), or
 * TLS (`tls`: the server presents that certificate and refuses connections without TLS).
 * Never touches the shared cluster.
 */
export async function startPrivatePostgres(options: { passwordAuthFor?: string; tls?: { certPem: string; keyPem: string } } = {}): Promise<PrivatePostgres> {
  const binDir = postgresBinDir();
  if (!binDir) throw new Error('PostgreSQL server binaries not found; set PG_BIN_DIR');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rampart-pg-'));
  const dataDir = path.join(dir, 'data');
  const asOwner = await clusterOwner(dir);
  const pgCtl = (...args: string[]) => asOwner(path.join(binDir, 'pg_ctl'), ['-D', dataDir, ...args]);

  try {
    await asOwner(path.join(binDir, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
    const port = await freePort();
    // The socket goes in our own dir so it cannot collide with the shared cluster's.
    await appendFile(
      path.join(dataDir, 'postgresql.conf'),
      `\nport = ${port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${dir}'\nfsync = off\n`,
    );
    if (options.tls) {
      // PostgreSQL reads its key only if the cluster's owner owns it and nobody else can.
      const owned = async (name: string, content: string) => {
        const file = path.join(dataDir, name);
        await writeFile(file, content, { mode: 0o600 });
        await asOwner('chmod', ['0600', file]).catch(() => {});
        if (process.getuid?.() === 0) await run('chown', ['postgres:postgres', file]);
      };
      await owned('server.crt', options.tls.certPem);
      await owned('server.key', options.tls.keyPem);
      await appendFile(path.join(dataDir, 'postgresql.conf'), `ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n`);
      const hba = path.join(dataDir, 'pg_hba.conf');
      await writeFile(hba, `hostnossl all all 0.0.0.0/0 reject\n${await readFile(hba, 'utf8')}`);
    }
    if (options.passwordAuthFor) {
      // First match wins: this role must present its password over TCP; the superuser stays on trust.
      const hba = path.join(dataDir, 'pg_hba.conf');
      const rest = await readFile(hba, 'utf8');
      await writeFile(hba, `host all ${options.passwordAuthFor} 127.0.0.1/32 scram-sha-256\n${rest}`);
    }
    const start = () => pgCtl('-l', path.join(dir, 'server.log'), '-w', '-t', '30', 'start').then(() => {});
    await start();
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    return {
      url,
      port,
      dataDir,
      start,
      stop: () => pgCtl('-m', 'immediate', '-w', 'stop').then(() => {}),
      async destroy() {
        await pgCtl('-m', 'immediate', '-w', 'stop').catch(() => {});
        await rm(dir, { recursive: true, force: true });
      },
      async query(text, params) {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          return await client.query(text, params);
        } finally {
          await client.end();
        }
      },
    };
  } catch (error) {
    await pgCtl('-m', 'immediate', '-w', 'stop').catch(() => {});
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

type Runner = (command: string, args: string[]) => Promise<{ stdout: string; stderr: string }>;

// initdb and postgres refuse to run as root; as root, hand the dir to the `postgres` user.
async function clusterOwner(dir: string): Promise<Runner> {
  if (process.getuid?.() !== 0) return (command, args) => run(command, args);
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  await chown(dir, Number(uid.stdout.trim()), Number(gid.stdout.trim()));
  return (command, args) => run('runuser', ['-u', 'postgres', '--', command, ...args]);
}

/** A port nothing listens on right now (the OS may hand it out again later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
