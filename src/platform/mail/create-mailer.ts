import type { Mailer } from './mailer.js';
import { createOutboxMailer } from './outbox-mailer.js';
import { createSmtpMailer } from './smtp-mailer.js';

export interface MailerConfig {
  /** `smtp://` or `smtps://` URL; when absent, mail goes to the outbox directory. */
  smtpUrl?: string | undefined;
  /** Where messages are written without SMTP, e.g. `<RAMPART_DATA_DIR>/outbox`. */
  outboxDirectory: string;
  from: string;
}

/** SMTP when a URL is configured, otherwise the outbox: an embedded install sends no mail by surprise. */
export function createMailer(config: MailerConfig): Mailer {
  if (config.smtpUrl !== undefined && config.smtpUrl !== '') {
    return createSmtpMailer({ url: config.smtpUrl, from: config.from });
  }
  return createOutboxMailer({ directory: config.outboxDirectory, from: config.from });
}
