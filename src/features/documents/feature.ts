import { defineFeature } from '../../feature.js';
import { accessControl } from '../auth/index.js';
import { documentJobs, documentsRoutes, extractionOptions } from './index.js';

/** Documents: streamed uploads to object storage, text extraction by the worker, full-text search. */
export const documentsFeature = defineFeature({
  name: 'documents',
  start({ config, db, storage, queue, roles }) {
    return {
      jobs: documentJobs({
        db,
        storage,
        retentionS: config.documentsRetentionS,
        purgeSchedule: config.documentsPurgeSchedule,
        orphanSweepSchedule: config.documentsOrphanSweepSchedule,
        extraction: extractionOptions(config),
      }),
      routes: roles.web ? [documentsRoutes({ db, storage, queue, access: accessControl(config, db), uploadMaxBytes: config.uploadMaxBytes })] : [],
    };
  },
});
