import type { Mailer } from '../../platform/mail/mailer.js';
import type { EmailProtection } from './email-protection.js';
import type { Db } from './store.js';

/**
 * What the auth feature's mail jobs need: a worker has no Identity (no signing keys, no
 * hasher), only the database, the address keys and the mailer. An Identity fits as is.
 */
export interface AuthMail {
  db: Db;
  emails: EmailProtection;
  /** Instructions in the mail start with `publicBaseUrl`. */
  mail: { mailer: Mailer; publicBaseUrl: string };
}
