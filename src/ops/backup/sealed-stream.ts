import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createHash } from 'node:crypto';
import { PassThrough, Readable, Transform, type Writable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Decrypter, Encrypter } from 'age-encryption';
import { BackupError } from './backup-error.js';

// A backup file is `zstd | age`: the format an operator opens with `age -d -i key.txt FILE |
// zstd -d` and no Rampart at all. zstd runs as the Debian binary (Node 20's zlib has no
// zstd; the binary is also several times faster than gzip at a better ratio); age runs in
// process (age-encryption), on web streams, 64 KiB chunks at a time: memory stays flat.

export const ZSTD_LEVEL = 3;

export interface Sealed {
  /** The encrypted bytes. Errors when the source, zstd or encryption fails. */
  stream: Readable;
  /** Plaintext bytes read from the source so far (final once `stream` has ended). */
  plainBytes(): number;
}

/** Compresses and encrypts `plain` to the recipients, as a stream. */
export function seal(plain: Readable, recipients: readonly string[]): Sealed {
  let plainBytes = 0;
  const zstd = startZstd(['-q', '-c', `-${ZSTD_LEVEL}`, '-T0']);
  const out = new PassThrough();
  const fail = (error: Error) => {
    if (!out.destroyed) out.destroy(error);
    plain.destroy();
    zstd.kill();
  };
  plain.on('error', fail);
  zstd.failure.catch(fail);
  plain.on('data', (chunk: Buffer) => void (plainBytes += chunk.length));
  plain.pipe(zstd.child.stdin);
  zstd.child.stdin.on('error', () => {}); // zstd exiting early is reported through its exit code
  const encrypter = new Encrypter();
  for (const recipient of recipients) encrypter.addRecipient(recipient);
  encrypter
    .encrypt(Readable.toWeb(zstd.child.stdout) as unknown as ReadableStream<Uint8Array>)
    .then((encrypted) => {
      const sealed = Readable.fromWeb(encrypted as unknown as WebReadableStream<Uint8Array>);
      sealed.on('error', fail);
      // The stream ends only once zstd has exited cleanly: a crash mid-way is never a short but "complete" file.
      sealed.pipe(out, { end: false });
      sealed.on('end', () => void zstd.failure.then(() => out.end(), fail));
    }, fail);
  return { stream: out, plainBytes: () => plainBytes };
}

/**
 * Decrypts with the identity and decompresses. A file encrypted to other keys fails with
 * "cannot decrypt with this identity"; a damaged one fails while streaming.
 */
export async function unseal(sealed: Readable, identity: string, fileName: string): Promise<Readable> {
  const decrypter = new Decrypter();
  try {
    decrypter.addIdentity(identity);
  } catch {
    throw new BackupError('bad_input', 'BACKUP_IDENTITY is not a valid age identity');
  }
  let compressed: ReadableStream<Uint8Array>;
  try {
    compressed = await decrypter.decrypt(Readable.toWeb(sealed) as unknown as ReadableStream<Uint8Array>);
  } catch (error) {
    sealed.destroy();
    const reason = (error as Error).message;
    if (/no identity matched/.test(reason)) throw new BackupError('failed', `${fileName}: cannot decrypt with this identity (the backup was encrypted to other recipients)`);
    throw new BackupError('failed', `${fileName}: not a readable age file (${reason})`);
  }
  const zstd = startZstd(['-d', '-q', '-c']);
  const out = new PassThrough();
  const fail = (error: Error) => {
    if (!out.destroyed) out.destroy(error instanceof BackupError ? error : new BackupError('failed', `${fileName}: ${error.message}`));
    sealed.destroy();
    zstd.kill();
  };
  zstd.failure.catch(fail);
  const decrypted = Readable.fromWeb(compressed as unknown as WebReadableStream<Uint8Array>);
  decrypted.on('error', (error) => fail(new BackupError('failed', `${fileName}: damaged backup, decryption failed (${error.message})`)));
  decrypted.pipe(zstd.child.stdin);
  zstd.child.stdin.on('error', () => {});
  zstd.child.stdout.pipe(out, { end: false });
  zstd.child.stdout.on('end', () => void zstd.failure.then(() => out.end(), fail));
  return out;
}

interface Zstd {
  child: ChildProcessByStdio<Writable, Readable, Readable>;
  /** Resolves when zstd exits 0; rejects with its error otherwise. */
  failure: Promise<void>;
  kill(): void;
}

function startZstd(args: string[]): Zstd {
  const child = spawn('zstd', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => void (stderr = (stderr + chunk.toString('utf8')).slice(-2_000)));
  const failure = new Promise<void>((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'ENOENT' ? new BackupError('failed', 'zstd is not installed (Debian package `zstd`)') : error);
    });
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new BackupError('failed', `zstd ${signal ? `was killed (${signal})` : `exited with ${code}`}${stderr.trim() ? `: ${stderr.trim()}` : ''}`));
    });
  });
  failure.catch(() => {});
  return { child, failure, kill: () => void (child.exitCode === null && child.kill('SIGKILL')) };
}

/** Passes bytes through while counting them and hashing them with SHA-256. */
export function measuring(): { stream: Transform; bytes(): number; sha256(): string } {
  const hash = createHash('sha256');
  let bytes = 0;
  let digest: string | undefined;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      hash.update(chunk);
      done(null, chunk);
    },
  });
  return { stream, bytes: () => bytes, sha256: () => (digest ??= hash.digest('hex')) };
}

/** Reads a stream to its end, hashing it: the read-back check and the drill's first step. */
export async function digestOf(stream: Readable, onBytes?: (bytes: number) => void): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
    onBytes?.(bytes);
  }
  return { sha256: hash.digest('hex'), bytes };
}
