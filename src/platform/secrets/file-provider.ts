import { randomBytes } from 'node:crypto';
import { chmod, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { secretKeyFor, type SecretEntry, type SecretProvider } from './secret-provider.js';

/**
 * One file per secret in a directory (Docker's `/run/secrets`, a Kubernetes secret volume):
 * the file name is the key (`app_secret`, `APP_SECRET`), the content the value (one trailing
 * newline dropped). A directory that does not exist holds no secrets: `npm start` must work
 * with the default `env,file` chain and no mount.
 */
export function fileProvider(dir: string, known: ReadonlySet<string>): SecretProvider {
  const names = new Map<string, string>();
  return {
    name: 'file',
    async load() {
      const out = new Map<string, SecretEntry>();
      let entries: string[];
      try {
        entries = await readdir(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return out;
        throw error;
      }
      for (const entry of entries) {
        // Kubernetes projects `..data` and timestamped directories next to the symlinks.
        if (entry.startsWith('.')) continue;
        const key = secretKeyFor(entry, known);
        if (!key) continue;
        const path = join(dir, entry);
        const info = await stat(path);
        if (!info.isFile()) continue;
        const value = (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
        if (!value) continue;
        names.set(key, entry);
        out.set(key, { value, version: String(Math.trunc(info.mtimeMs)), changedAt: info.mtime });
      }
      return out;
    },
    async write(key, value) {
      const path = join(dir, names.get(key) ?? key);
      // Write then rename: a reader never sees half a value.
      const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
      await writeFile(temporary, `${value}\n`, { mode: 0o600 });
      await chmod(temporary, 0o600);
      await rename(temporary, path);
      const info = await stat(path);
      return { version: String(Math.trunc(info.mtimeMs)) };
    },
  };
}
