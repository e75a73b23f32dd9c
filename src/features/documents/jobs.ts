import type { Config } from '../../config/schema.js';
import { isUuid } from '../../platform/db/uuid.js';
import type { JobContext, JobDefinition } from '../../platform/queue/job-types.js';
import type { ObjectStorage } from '../../platform/storage/object-storage.js';
import { findForExtraction, recordExtractedText, recordExtractionFailure, type Db } from './documents-store.js';
import { sweepOrphanObjects } from './orphan-sweep.js';
import { purgeDeletedDocuments } from './purge.js';
import { createTextExtractor, UnextractableDocument, type TextExtractor, type TextExtractorOptions } from './text-extraction.js';

export const EXTRACT_TEXT_JOB = 'documents.extract-text';
export const PURGE_DELETED_JOB = 'documents.purge-deleted';
export const SWEEP_ORPHANS_JOB = 'documents.sweep-orphans';

/** An upload stores its object before it writes its row; an hour is far beyond any upload's request timeout. */
export const ORPHAN_MIN_AGE_MS = 60 * 60_000;

export interface ExtractTextPayload {
  documentId: string;
}

export interface DocumentJobsDeps {
  db: Db;
  storage: ObjectStorage;
  /** DOCUMENTS_RETENTION_S: how long a deleted document is kept before the purge. */
  retentionS: number;
  /** DOCUMENTS_PURGE_SCHEDULE (cron, UTC). */
  purgeSchedule: string;
  /** DOCUMENTS_ORPHAN_SWEEP_SCHEDULE (cron, UTC). */
  orphanSweepSchedule: string;
  /** How PDF and HTML documents are parsed: memory, decompression and page limits, and how many at once. */
  extraction: TextExtractorOptions;
}

/** The extraction settings of the configuration (DOCUMENTS_EXTRACT_*). */
export function extractionOptions(config: Pick<Config, 'documentsExtractMaxMemoryMb' | 'documentsExtractMaxDecompressedMb' | 'documentsExtractMaxPages' | 'documentsExtractConcurrency'>): TextExtractorOptions {
  return {
    maxMemoryMb: config.documentsExtractMaxMemoryMb,
    maxDecompressedMb: config.documentsExtractMaxDecompressedMb,
    maxPages: config.documentsExtractMaxPages,
    concurrency: config.documentsExtractConcurrency,
  };
}

const EXTRACT_MAX_ATTEMPTS = 4;

/** The documents feature's jobs, for the worker to register. */
export function documentJobs(deps: DocumentJobsDeps): JobDefinition[] {
  return [extractTextJob(deps, createTextExtractor(deps.extraction)) as JobDefinition, purgeDeletedJob(deps), sweepOrphansJob(deps)];
}

/**
 * Reads a new document back from storage and records its text, which makes it searchable.
 * A document that can never be read (corrupt PDF, too large) is marked `extract_failed` at
 * once; a passing failure (storage or database away) is retried, and marked on the last attempt.
 */
export function extractTextJob(deps: DocumentJobsDeps, extractor: TextExtractor): JobDefinition<ExtractTextPayload> {
  return {
    type: EXTRACT_TEXT_JOB,
    maxAttempts: EXTRACT_MAX_ATTEMPTS,
    timeoutMs: 120_000,
    backoffMs: 2_000,
    async run(payload: ExtractTextPayload, context: JobContext) {
      if (!isUuid(payload?.documentId)) {
        context.logger.warn('extraction job without a document id; dropped');
        return;
      }
      const doc = await findForExtraction(deps.db, payload.documentId);
      // Deleted since the upload, or already done by an earlier attempt: nothing to do.
      if (!doc || doc.status === 'extracted') return;
      try {
        const text = await extractor.extract(doc.content_type, () => deps.storage.get(doc.storage_key), Number(doc.size_bytes), context.signal);
        await recordExtractedText(deps.db, doc.id, text);
        context.logger.info({ document_id: doc.id, chars: text.length }, 'document text extracted');
      } catch (error) {
        const permanent = error instanceof UnextractableDocument;
        if (permanent || context.attempt >= EXTRACT_MAX_ATTEMPTS) {
          // The reason is ours (a class or a sentence we wrote), never the document's content.
          const reason = permanent ? (error as Error).message : `failed after ${context.attempt} attempts (${(error as Error).name})`;
          await recordExtractionFailure(deps.db, doc.id, reason);
          context.logger.warn({ document_id: doc.id, reason }, 'document text not extracted');
          if (permanent) return;
        }
        throw error;
      }
    },
  };
}

/** Hourly by default: deleted documents past the retention lose their object and their row. */
export function purgeDeletedJob(deps: DocumentJobsDeps): JobDefinition {
  return {
    type: PURGE_DELETED_JOB,
    schedule: deps.purgeSchedule,
    maxAttempts: 3,
    timeoutMs: 10 * 60_000,
    async run(_payload, context) {
      const purged = await purgeDeletedDocuments(deps.db, deps.storage, deps.retentionS, context.signal);
      if (purged > 0) context.logger.info({ purged }, 'deleted documents purged');
    },
  };
}

/** Daily by default: objects left without a row by a crash mid-upload are deleted. */
export function sweepOrphansJob(deps: DocumentJobsDeps): JobDefinition {
  return {
    type: SWEEP_ORPHANS_JOB,
    schedule: deps.orphanSweepSchedule,
    maxAttempts: 3,
    timeoutMs: 30 * 60_000,
    async run(_payload, context) {
      const { deleted, abandonedWrites } = await sweepOrphanObjects(deps.db, deps.storage, { minAgeMs: ORPHAN_MIN_AGE_MS, signal: context.signal });
      // Keys are ids only (tenant/document), never content.
      if (deleted.length > 0) context.logger.warn({ deleted: deleted.length, keys: deleted.slice(0, 20) }, 'stored objects without a document row deleted');
      if (abandonedWrites > 0) context.logger.warn({ abandoned_writes: abandonedWrites }, 'unfinished uploads removed');
    },
  };
}
