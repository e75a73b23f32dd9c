import type { FieldKeyring } from '../../platform/crypto/field-keyring.js';
import type { Mailer } from '../../platform/mail/mailer.js';
import type { JobDefinition } from '../../platform/queue/job-types.js';
import type { AuthMail } from './auth-mail.js';
import { createEmailProtection } from './email-protection.js';
import { PASSWORD_RESET_MAIL, sendPasswordResetMail } from './password-forgot.js';
import { SIGNUP_MAIL, sendSignupMail } from './signup-verification.js';
import type { Db } from './store.js';

export interface AuthJobSettings {
  db: Db;
  /** The platform's field keys (addresses are sealed under them). */
  fieldKeys: FieldKeyring;
  appSecret: string;
  mailer: Mailer;
  /** PUBLIC_BASE_URL: the API address the mails' instructions name. */
  publicBaseUrl: string;
}

/**
 * The auth feature's mail, sent by the worker: the requests that ask for it (forgot password,
 * sign-up) only enqueue, the same job whatever the account, so neither their answers nor
 * their timing tell whether an address has an account.
 */
export function authJobs(settings: AuthJobSettings): JobDefinition[] {
  const mail: AuthMail = {
    db: settings.db,
    emails: createEmailProtection(settings.fieldKeys, settings.appSecret),
    mail: { mailer: settings.mailer, publicBaseUrl: settings.publicBaseUrl },
  };
  return [
    { type: PASSWORD_RESET_MAIL, run: (payload, job) => sendPasswordResetMail(mail, payload, job), timeoutMs: 30_000 },
    { type: SIGNUP_MAIL, run: (payload, job) => sendSignupMail(mail, payload, job), timeoutMs: 30_000 },
  ];
}
