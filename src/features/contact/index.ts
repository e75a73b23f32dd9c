import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { ContactFeature } from './contact-feature.js';
import { listRoute } from './list.js';
import { submitRoute } from './submit.js';

export type { ContactFeature, SubmissionOutcome } from './contact-feature.js';
export { contactJobs, CONTACT_NOTIFY, type ContactJobSettings } from './jobs.js';

/**
 * `POST /v1/contact` and `GET /v1/contact`, behind a Bearer token or an API key. Registered
 * after the auth feature's `exposeAuthentication`, whose `rampart.authenticate` it uses.
 */
export function contactRoutes(feature: ContactFeature): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    await app.register(async (authenticated) => {
      await authenticated.register(authenticated.rampart.authenticate);
      await submitRoute(authenticated, feature);
      await listRoute(authenticated, feature);
    });
  };
}
