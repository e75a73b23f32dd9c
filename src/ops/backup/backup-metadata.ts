import type { TableStat } from './table-stats.js';

export const LABELS = ['manual', 'pre-deploy', 'scheduled'] as const;
export type BackupLabel = (typeof LABELS)[number];

/**
 * The JSON written beside each backup (`<id>.json`). Its presence is what makes a backup
 * complete. It holds no secret: no URL, no password, no key (only the recipients, which are
 * public).
 */
export interface BackupMetadata {
  format: 'rampart-backup/1';
  id: string;
  /** ISO time the snapshot was taken. */
  createdAt: string;
  label: BackupLabel;
  /** The data file beside this one. */
  file: string;
  /** `pg_dump -Fc` (PostgreSQL) or plain SQL (embedded, PGlite's pg_dump). */
  dump: 'custom' | 'sql';
  source: 'postgres' | 'pglite';
  rampartVersion: string;
  gitSha: string | null;
  /** Last applied migration, or null when the database has none. */
  migration: string | null;
  postgresVersion: string;
  compression: 'zstd';
  encryption: { format: 'age'; recipients: string[] };
  sizes: { dumpBytes: number; encryptedBytes: number };
  sha256: string;
  durationMs: number;
  tables: Record<string, TableStat>;
}

/** `<id>.json`, `<id>.verify.json`, `<id>.verify.md`: the names beside a backup's data file. */
export const metadataName = (id: string): string => `${id}.json`;
export const reportName = (id: string, ext: 'json' | 'md'): string => `${id}.verify.${ext}`;
export const dataFileName = (id: string, dump: BackupMetadata['dump']): string => `${id}.${dump === 'custom' ? 'pgdump' : 'sql'}.zst.age`;

/** Ids sort by time: `20250101T120000Z-<6 hex>`. */
export function newBackupId(at: Date, random: string): string {
  return `${at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${random}`;
}

export const isBackupId = (value: string): boolean => /^\d{8}T\d{6}Z-[0-9a-f]{6}$/.test(value);

export function parseMetadata(text: string): BackupMetadata | undefined {
  try {
    const parsed = JSON.parse(text) as Partial<BackupMetadata>;
    return parsed.format === 'rampart-backup/1' && typeof parsed.id === 'string' ? (parsed as BackupMetadata) : undefined;
  } catch {
    return undefined;
  }
}
