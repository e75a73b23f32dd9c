export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

/** Sends one message; resolves with an id to correlate logs, rejects if it was not accepted. */
export interface Mailer {
  send(message: MailMessage): Promise<{ id: string }>;
}

/**
 * Refuses a recipient or subject carrying a line break: in an SMTP header it would start
 * a new header (Bcc: injection). nodemailer encodes these itself; checking here keeps the
 * outbox, which tests trust as a stand-in for SMTP, just as strict.
 */
export function assertSendable(message: MailMessage): void {
  if (/[\r\n]/.test(message.to) || /[\r\n]/.test(message.subject)) {
    throw new TypeError('mail recipient and subject must be a single line');
  }
  if (message.to.trim() === '') throw new TypeError('mail recipient is empty');
}
