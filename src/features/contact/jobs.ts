import { isUuid } from '../../platform/db/uuid.js';
import type { FieldKeyring } from '../../platform/crypto/field-keyring.js';
import type { Mailer } from '../../platform/mail/mailer.js';
import type { JobContext, JobDefinition } from '../../platform/queue/job-types.js';
import { openContactContent } from './content-sealing.js';
import { contactNotificationMail } from './notification-mail.js';
import { findContactMessage, type Db } from './store.js';

export const CONTACT_NOTIFY = 'contact.notify';

/** The id alone: the content stays encrypted in its row, never in the jobs table. */
export interface ContactNotifyPayload {
  messageId: string;
}

export interface ContactJobSettings {
  db: Db;
  fieldKeys: FieldKeyring;
  mailer: Mailer;
  /** CONTACT_INBOX; unset, messages are stored and nobody is mailed. */
  inbox: string | undefined;
}

function messageIdOf(payload: unknown): string {
  const messageId = (payload as Partial<ContactNotifyPayload> | null)?.messageId;
  // Retrying cannot mend a payload; failing loudly sends it to the dead-letter queue for a person to see.
  if (!isUuid(messageId)) throw new TypeError(`${CONTACT_NOTIFY}: payload has no messageId uuid`);
  return messageId;
}

/** Loads, decrypts and mails one message to the inbox. Logs ids only, never the content or an address. */
async function notifyInbox(settings: ContactJobSettings, payload: unknown, context: JobContext): Promise<void> {
  const messageId = messageIdOf(payload);
  const fields = { contact_message_id: messageId };
  if (settings.inbox === undefined) {
    context.logger.info(fields, 'no CONTACT_INBOX configured: the contact message is stored, nobody is mailed');
    return;
  }
  const row = await findContactMessage(settings.db, messageId);
  if (!row) {
    // Erased before the worker got to it: there is nothing left to tell.
    context.logger.info(fields, 'contact message no longer exists: nothing to mail');
    return;
  }
  const sent = await settings.mailer.send(contactNotificationMail(settings.inbox, row, openContactContent(settings.fieldKeys, row)));
  context.logger.info({ ...fields, mail_id: sent.id }, 'contact message mailed to the inbox');
}

/** The contact feature's jobs, for the worker to run. */
export function contactJobs(settings: ContactJobSettings): JobDefinition[] {
  return [{ type: CONTACT_NOTIFY, run: (payload, context) => notifyInbox(settings, payload, context), timeoutMs: 30_000 }];
}
