import { BackupError } from './backup-error.js';
import { isBackupId, metadataName, parseMetadata, reportName, type BackupMetadata } from './backup-metadata.js';
import type { BackupStore } from './backup-store.js';

export interface DrillReport {
  id: string;
  ok: boolean;
  at: string;
}

export interface CatalogEntry {
  metadata: BackupMetadata;
  /** The last restore drill's outcome, if one ran. */
  drill: DrillReport | undefined;
}

/** Every complete backup (one with metadata) in the store, oldest first. */
export async function listBackups(store: BackupStore): Promise<CatalogEntry[]> {
  const names = new Set(await store.names());
  const ids = [...names].filter((name) => name.endsWith('.json') && !name.endsWith('.verify.json')).map((name) => name.slice(0, -'.json'.length)).filter(isBackupId).sort();
  const entries: CatalogEntry[] = [];
  for (const id of ids) {
    const metadata = parseMetadata((await store.readText(metadataName(id))) ?? '');
    if (!metadata || !names.has(metadata.file)) continue;
    const report = names.has(reportName(id, 'json')) ? parseReport(await store.readText(reportName(id, 'json'))) : undefined;
    entries.push({ metadata, drill: report });
  }
  return entries;
}

/** `latest` or an id → that backup; a clear error when there is none. */
export async function findBackup(store: BackupStore, which: string): Promise<CatalogEntry> {
  if (which !== 'latest' && !isBackupId(which)) throw new BackupError('bad_input', `${JSON.stringify(which.slice(0, 40))} is not a backup id (like 20250101T120000Z-a1b2c3) or "latest"`);
  const entries = await listBackups(store);
  const found = which === 'latest' ? entries.at(-1) : entries.find((e) => e.metadata.id === which);
  if (!found) throw new BackupError('bad_input', which === 'latest' ? `no complete backup in ${store.location}` : `no backup ${which} in ${store.location}`);
  return found;
}

function parseReport(text: string | undefined): DrillReport | undefined {
  try {
    const report = JSON.parse(text ?? '') as Partial<DrillReport>;
    return typeof report.ok === 'boolean' && typeof report.at === 'string' ? { id: String(report.id), ok: report.ok, at: report.at } : undefined;
  } catch {
    return undefined;
  }
}
