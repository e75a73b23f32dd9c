import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { BackupError } from './backup-error.js';

export interface PitrRestoreOptions {
  /** ISO 8601 with a zone: `2026-12-05T14:03:00Z`, `2026-12-05 15:03:00.25+01:00`. */
  toTime: string;
  stanza: string;
  /** The stopped cluster's data directory (`--pg1-path`). */
  pgPath: string;
  /** pgbackrest.conf; unset: pgBackRest's default. */
  config?: string;
  /** Rewrite only the files that differ instead of needing an empty data directory. */
  delta: boolean;
  now?: Date;
}

// Date and time, optional seconds and fraction, and a zone that must be there: a time without
// one would be read in the server's zone, which is not what the operator saw on their screen.
const ISO_WITH_ZONE = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)(Z|[+-]\d{2}(?::?\d{2})?)$/i;

/** The recovery target in PostgreSQL's timestamptz form, or a bad_input error saying what is expected. */
export function recoveryTarget(text: string, now = new Date()): string {
  const [, date = '', time = '', zone = ''] = ISO_WITH_ZONE.exec(text.trim()) ?? [];
  const parsed = Date.parse(`${date}T${time}${zone.toUpperCase()}`);
  if (!zone || Number.isNaN(parsed)) {
    throw new BackupError('bad_input', `--to-time "${text}" is not an ISO 8601 time with a zone, e.g. 2026-12-05T14:03:00Z or 2026-12-05T15:03:00+01:00`);
  }
  if (parsed > now.getTime()) throw new BackupError('bad_input', `--to-time ${text} is in the future; recovery can only stop at a time that has passed`);
  return `${date} ${time}${zone.toUpperCase() === 'Z' ? '+00' : zone}`;
}

/**
 * `pgbackrest restore --type=time` into a stopped cluster's data directory. PostgreSQL,
 * started afterwards, fetches WAL from the repository, replays it up to the target and
 * promotes. The data directory is checked first so a running cluster is refused with a
 * reason rather than pgBackRest's error code.
 */
export async function restoreToTime(options: PitrRestoreOptions): Promise<{ target: string; output: string }> {
  const target = recoveryTarget(options.toTime, options.now);
  const pgPath = path.resolve(options.pgPath);
  const dir = await stat(pgPath).catch(() => undefined);
  if (!dir?.isDirectory()) throw new BackupError('bad_input', `--pg1-path ${pgPath} is not a directory: give the data directory of the PostgreSQL cluster to restore`);
  const running = await postmasterPid(pgPath);
  if (running) {
    throw new BackupError(
      'refused',
      `PostgreSQL is running on ${pgPath} (pid ${running}); a point-in-time restore replaces its files. Stop it first (pg_ctl -D ${pgPath} stop -m fast, or systemctl stop postgresql) and run this again.`,
    );
  }
  const args = [
    ...(options.config ? [`--config=${options.config}`] : []),
    `--stanza=${options.stanza}`,
    `--pg1-path=${pgPath}`,
    '--type=time',
    `--target=${target}`,
    '--target-action=promote',
    ...(options.delta ? ['--delta'] : []),
    '--log-level-console=warn',
    '--log-level-stderr=off',
    'restore',
  ];
  const output = await pgbackrest(args);
  return { target, output };
}

/** The pid in postmaster.pid when that process is alive; a file left by a crash is no running cluster. */
async function postmasterPid(pgPath: string): Promise<number | undefined> {
  const text = await readFile(path.join(pgPath, 'postmaster.pid'), 'utf8').catch(() => undefined);
  const pid = Number(text?.split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
}

function pgbackrest(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('pgbackrest', args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new BackupError('failed', 'pgbackrest is not installed (Debian/Ubuntu package `pgbackrest`)'));
      }
      // pgBackRest states its reason as `ERROR: [code]: message`, possibly over several lines.
      const text = `${stdout}\n${stderr}`;
      const reason = /ERROR: \[\d+\]: [\s\S]*/.exec(text)?.[0].trim() ?? (text.trim() || `pgbackrest exited with ${String(error.code)}`);
      reject(new BackupError('failed', `pgbackrest restore failed: ${reason}`));
    });
  });
}
