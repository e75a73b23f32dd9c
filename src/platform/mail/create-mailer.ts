import { reporting, type OutgoingObserver } from '../outgoing/outgoing-calls.js';
import type { Mailer } from './mailer.js';
import { createOutboxMailer } from './outbox-mailer.js';
import { createSmtpMailer } from './smtp-mailer.js';

export interface MailerConfig {
  /**
   * `smtp://` or `smtps://` URL; when absent, mail goes to the outbox directory. A function is
   * read before every message, so a rotated SMTP_URL (new credentials, another relay) is used
   * from the next message on without a restart.
   */
  smtpUrl?: string | undefined | (() => string | undefined);
  /** Where messages are written without SMTP, e.g. `<RAMPART_DATA_DIR>/outbox`. */
  outboxDirectory: string;
  from: string;
  /** Sees every message sent over SMTP (tracing); the outbox is a local write, not a call. */
  observe?: OutgoingObserver | undefined;
}

/** SMTP when a URL is configured, otherwise the outbox: an embedded install sends no mail by surprise. */
export function createMailer(config: MailerConfig): Mailer {
  const urlNow = () => (typeof config.smtpUrl === 'function' ? config.smtpUrl() : config.smtpUrl) || undefined;
  const build = (url: string | undefined): Mailer => (url !== undefined
    ? createSmtpMailer({ url, from: config.from })
    : createOutboxMailer({ directory: config.outboxDirectory, from: config.from }));
  // Built now, so a malformed URL given at start is refused at start.
  let current = { url: urlNow(), mailer: build(urlNow()) };
  return {
    async send(message) {
      const url = urlNow();
      // Nodemailer's transport here opens a connection per message and keeps none: nothing to close.
      if (url !== current.url) current = { url, mailer: build(url) };
      if (url === undefined || !config.observe) return current.mailer.send(message);
      // The relay's host only: the URL carries the credentials.
      const done = config.observe({ name: 'smtp send', attributes: { 'network.protocol.name': 'smtp', 'server.address': hostOf(url) } });
      return reporting(current.mailer.send(message), done);
    },
  };
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return 'unknown';
  }
}
