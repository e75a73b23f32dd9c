import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import fastifyMultipart from '@fastify/multipart';
import { deleteDocumentRoute } from './documents-delete.js';
import type { DocumentsDeps } from './documents-deps.js';
import { downloadDocumentRoute } from './documents-download.js';
import { listDocumentsRoute } from './documents-list.js';
import { documentMetadataRoute } from './documents-metadata.js';
import { searchDocumentsRoutes } from './documents-search.js';
import { uploadDocumentRoute } from './documents-upload.js';

export type { DocumentsDeps } from './documents-deps.js';
export { documentJobs, extractionOptions, type DocumentJobsDeps } from './jobs.js';

/**
 * The document routes, all behind Rampart's authentication (an access token, or an API key
 * with `documents:read` / `documents:write`). Needs `exposeAuthentication` registered before it.
 */
export function documentsRoutes(deps: DocumentsDeps): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    if (!app.hasDecorator('rampart')) throw new Error('documentsRoutes: register exposeAuthentication first');
    // Multipart is parsed only here; every other route still refuses it with 415.
    await app.register(fastifyMultipart, { throwFileSizeLimit: false });
    await app.register(app.rampart.authenticate);
    await uploadDocumentRoute(app, deps);
    await listDocumentsRoute(app, deps);
    await searchDocumentsRoutes(app, deps);
    await documentMetadataRoute(app, deps);
    await downloadDocumentRoute(app, deps);
    await deleteDocumentRoute(app, deps);
  };
}
