import type { MailMessage } from '../../platform/mail/mailer.js';
import type { ContactContent } from './content-sealing.js';

/**
 * The inbox's copy of one message: what a person needs to read and answer it, and the ids to
 * find it again (`GET /v1/contact` of that tenant). Nothing about who or what submitted it.
 * The sender's name and address stay in the body: a header carrying them could be forged into
 * more headers, and the subject is read by every relay on the way.
 */
export function contactNotificationMail(inbox: string, message: { id: string; tenant_id: string; created_at: Date }, content: ContactContent): MailMessage {
  return {
    to: inbox,
    subject: `Contact message ${message.id}`,
    // A retried job mails the same message again; the same Message-ID lets the inbox tell.
    idempotencyKey: `contact.${message.id}`,
    text: [
      `From: ${content.name} <${content.email}>`,
      `Received: ${message.created_at.toISOString()}`,
      `Message id: ${message.id}`,
      `Tenant: ${message.tenant_id}`,
      '',
      content.message,
      '',
    ].join('\n'),
  };
}
