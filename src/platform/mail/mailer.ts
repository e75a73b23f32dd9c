export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
  /**
   * Names this message for good ([A-Za-z0-9.-], e.g. `contact.<uuid>`): it becomes the
   * Message-ID `<key@sender's domain>`, the same on every retry. A job is retried when it cannot
   * know whether its send went through (a timeout after the server took the data, a crash before
   * the job was marked done); receiving systems that drop a repeated Message-ID (Gmail, Sieve's
   * `duplicate`) then show one message, and anyone else can see the two are the same.
   */
  idempotencyKey?: string;
}

const IDEMPOTENCY_KEY = /^[A-Za-z0-9][A-Za-z0-9.-]{0,127}$/;

/** `<key@domain>`, the domain taken from the sender address (`Name <user@domain>` or `user@domain`). */
export function stableMessageId(idempotencyKey: string, from: string): string {
  const domain = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from)?.[1] ?? 'localhost';
  return `<${idempotencyKey}@${domain}>`;
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
  if (message.idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(message.idempotencyKey)) {
    throw new TypeError('mail idempotency key must be 1-128 characters of [A-Za-z0-9.-]');
  }
}
