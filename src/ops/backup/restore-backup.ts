import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { pgliteDir } from '../../platform/db/template-paths.js';
import { STALE_AFTER_S } from '../../worker/heartbeat.js';
import { BackupError } from './backup-error.js';
import { findBackup } from './backup-catalog.js';
import type { BackupMetadata } from './backup-metadata.js';
import type { BackupStore } from './backup-store.js';
import { freshEmbeddedCluster, lockEmbedded, openEmbedded } from './embedded-database.js';
import { loadDump, loadedStats, type LoadTarget } from './load-dump.js';
import { connect, describeDatabase, type PostgresConnection } from './postgres-connection.js';
import { silentProgress, type Progress } from './progress.js';
import { verifyChecksum } from './restore-drill.js';
import { unseal } from './sealed-stream.js';
import { compareStats, tableCensus } from './table-stats.js';

export type RestoreTarget = { kind: 'postgres'; connection: PostgresConnection } | { kind: 'pglite'; dataDir: string };

export interface RestoreRequest {
  store: BackupStore;
  which: string;
  identity: () => Promise<string>;
  target: RestoreTarget;
  /** Replace a target that holds data (it is kept aside, renamed, not dropped). */
  force: boolean;
  progress?: Progress;
  now?: () => Date;
}

export interface RestoreResult {
  metadata: BackupMetadata;
  /** Where the previous contents were moved (a database or directory name), if there were any. */
  previous: string | undefined;
}

/**
 * Restores a backup into a new database beside the target, checks every table against the
 * metadata, and only then swaps it in by renaming: any failure leaves the target untouched.
 */
export async function restoreBackup(request: RestoreRequest): Promise<RestoreResult> {
  const { metadata } = await findBackup(request.store, request.which);
  await verifyChecksum(request.store, metadata, request.progress ?? silentProgress);
  const identity = await request.identity();
  const stamp = (request.now?.() ?? new Date()).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z').toLowerCase();
  const load = async (target: LoadTarget) => {
    await loadDump(target, metadata.dump, await unseal(await request.store.read(metadata.file), identity, request.store.describe(metadata.file)));
    const loaded = await loadedStats(target, metadata.tables);
    const differences = compareStats(metadata.tables, loaded.tables);
    if (differences.length > 0) throw new BackupError('mismatch', `the restored copy differs from the backup in ${differences.map((d) => d.table).join(', ')}; the target was left untouched`);
  };
  return request.target.kind === 'postgres'
    ? { metadata, previous: await restorePostgres(request.target.connection, request.force, stamp, load) }
    : { metadata, previous: await restoreEmbedded(request.target.dataDir, request.force, stamp, load) };
}

async function restorePostgres(connection: PostgresConnection, force: boolean, stamp: string, load: (target: LoadTarget) => Promise<void>): Promise<string | undefined> {
  const targetName = decodeURIComponent(new URL(connection.url).pathname.slice(1)) || 'postgres';
  const maintenance = await maintenanceConnection(connection, targetName);
  try {
    const exists = (await maintenance.query('select 1 from pg_database where datname = $1', [targetName])).rowCount === 1;
    const hadTables = exists ? await refuseBusyOrFull(connection, force) : false;
    const fresh = `${targetName.slice(0, 40)}_restore_${randomBytes(3).toString('hex')}`;
    await maintenance.query(`create database ${pg.escapeIdentifier(fresh)}`).catch((error: Error) => {
      throw new BackupError('failed', `cannot create the database ${fresh} to restore into (the role needs CREATEDB): ${error.message}`);
    });
    const freshUrl = new URL(connection.url);
    freshUrl.pathname = `/${encodeURIComponent(fresh)}`;
    try {
      await load({ kind: 'postgres', connection: { url: freshUrl.toString(), password: connection.password } });
    } catch (error) {
      await maintenance.query(`drop database if exists ${pg.escapeIdentifier(fresh)} with (force)`).catch(() => undefined);
      throw error;
    }
    let previous: string | undefined;
    if (exists) {
      // Checked again right before the swap: a process that connected meanwhile would be cut off.
      await refuseBusyOrFull(connection, true).catch(async (error: unknown) => {
        await maintenance.query(`drop database if exists ${pg.escapeIdentifier(fresh)} with (force)`).catch(() => undefined);
        throw error;
      });
      if (hadTables) {
        previous = `${targetName.slice(0, 40)}_before_restore_${stamp}`;
        await maintenance.query(`alter database ${pg.escapeIdentifier(targetName)} rename to ${pg.escapeIdentifier(previous)}`);
      } else {
        await maintenance.query(`drop database ${pg.escapeIdentifier(targetName)}`);
      }
    }
    await maintenance.query(`alter database ${pg.escapeIdentifier(fresh)} rename to ${pg.escapeIdentifier(targetName)}`);
    return previous;
  } finally {
    await maintenance.end().catch(() => undefined);
  }
}

/** Renaming a database needs a connection to another one: `postgres`, else `template1`. */
async function maintenanceConnection(connection: PostgresConnection, targetName: string): Promise<pg.Client> {
  for (const name of ['postgres', 'template1']) {
    if (name === targetName) continue;
    const url = new URL(connection.url);
    url.pathname = `/${name}`;
    try {
      return await connect({ url: url.toString(), password: connection.password });
    } catch {
      // try the next one
    }
  }
  throw new BackupError('failed', `cannot connect to the server of ${describeDatabase(connection.url)} outside the target database (postgres or template1)`);
}

/**
 * Restoring under a running application would lose its writes or break its sessions: any
 * other session on the target, or a live worker heartbeat, stops the restore. A target with
 * tables needs --force.
 */
async function refuseBusyOrFull(connection: PostgresConnection, force: boolean): Promise<boolean> {
  const client = await connect(connection);
  try {
    const sessions = (await client.query<{ application_name: string; client_addr: string | null }>(
      'select application_name, client_addr::text from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
    )).rows;
    // A table that does not exist fails the whole statement, even in a branch never taken.
    const hasHeartbeats = (await client.query("select to_regclass('public.worker_heartbeats') is not null as present")).rows[0]?.present === true;
    const workers = hasHeartbeats
      ? (await client.query<{ alive: string }>(`select count(*) as alive from public.worker_heartbeats where last_seen_at > now() - make_interval(secs => ${STALE_AFTER_S})`)).rows[0]!
      : { alive: '0' };
    if (sessions.length > 0 || Number(workers.alive) > 0) {
      const who = [...new Set(sessions.map((s) => s.application_name || s.client_addr || 'unnamed'))].join(', ');
      throw new BackupError('refused', `${describeDatabase(connection.url)} is in use: ${sessions.length} other session(s)${who ? ` (${who})` : ''}${Number(workers.alive) > 0 ? `, ${workers.alive} live worker(s)` : ''}. Stop \`rampart serve\` and \`rampart worker\` first (e.g. scale them to 0), then run the restore again`);
    }
    const { tables, rows } = await tableCensus(async (text) => (await client.query(text)).rows, !force);
    if (tables > 0 && !force) throw new BackupError('refused', `${describeDatabase(connection.url)} is not empty (${tables} tables, ${rows} rows): pass --force to replace it (its current contents are kept, renamed, not dropped)`);
    return tables > 0;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function restoreEmbedded(dataDir: string, force: boolean, stamp: string, load: (target: LoadTarget) => Promise<void>): Promise<string | undefined> {
  const lock = await lockEmbedded(dataDir);
  try {
    const live = pgliteDir(dataDir);
    if (existsSync(live) && !force) {
      const current: PGlite = await openEmbedded(dataDir);
      try {
        const { tables, rows } = await tableCensus(async (text) => (await current.query(text)).rows as never[], true);
        if (tables > 0) throw new BackupError('refused', `the embedded database in ${dataDir} is not empty (${tables} tables, ${rows} rows): pass --force to replace it (its current files are kept, renamed, not deleted)`);
      } finally {
        await current.close();
      }
    }
    const fresh = `${live}.restoring-${randomBytes(3).toString('hex')}`;
    try {
      const pglite = await freshEmbeddedCluster(fresh);
      try {
        await load({ kind: 'pglite', pglite });
      } finally {
        await pglite.close();
      }
    } catch (error) {
      await rm(fresh, { recursive: true, force: true });
      throw error;
    }
    let previous: string | undefined;
    if (existsSync(live)) {
      previous = `${live}.before-restore-${stamp}`;
      await rename(live, previous);
    }
    await rename(fresh, live);
    return previous;
  } finally {
    await lock.release();
  }
}
