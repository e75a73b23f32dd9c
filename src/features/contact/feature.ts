import { defineFeature } from '../../feature.js';
import { accessControl } from '../auth/index.js';
import { contactJobs, contactRoutes } from './index.js';

/** Contact messages: stored encrypted, listed to admins, mailed to CONTACT_INBOX by the worker. */
export const contactFeature = defineFeature({
  name: 'contact',
  start({ config, db, logger, queue, fieldKeys, mailer, metrics, roles }) {
    if (config.env === 'production' && config.contactInbox === undefined) logger.warn('CONTACT_INBOX is not set: contact messages are stored, nobody is mailed');
    return {
      jobs: contactJobs({ db, fieldKeys, mailer, inbox: config.contactInbox }),
      routes: roles.web
        ? [contactRoutes({
          db,
          fieldKeys,
          queue,
          access: accessControl(config, db),
          countSubmission: metrics.tally('contact_submissions_total', 'Contact submissions answered 202, by outcome (stored, honeypot).', ['outcome']),
        })]
        : [],
    };
  },
});
