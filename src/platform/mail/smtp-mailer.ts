import { lazyRequire } from '../lazy-require.js';
import type * as Nodemailer from 'nodemailer';

// Loaded when an SMTP mailer is made: the embedded default writes to the outbox instead.
const loadNodemailer = lazyRequire<typeof Nodemailer>('nodemailer');
import { assertSendable, stableMessageId, type Mailer } from './mailer.js';

export interface SmtpMailerOptions {
  /** `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://user:pass@host:465`. */
  url: string;
  from: string;
  /** Milliseconds to open the TCP (and TLS) connection. Default 10 000. */
  connectionTimeoutMs?: number;
  /** Milliseconds to wait for the server's 220 greeting. Default 10 000. */
  greetingTimeoutMs?: number;
  /** Milliseconds of silence before the connection is dropped. Default 30 000. */
  socketTimeoutMs?: number;
}

/** Raised when a message could not be handed to the SMTP server; never carries credentials. */
export class MailDeliveryError extends Error {
  override readonly name = 'MailDeliveryError';
  // Same relative form as problemType() in platform/http/problem.ts (docs/problems.md).
  readonly type = '/problems/mail-delivery-failed';
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly responseCode: number | undefined,
  ) {
    super(message);
  }
}

/**
 * Sends through an SMTP server with nodemailer. nodemailer's defaults wait minutes for a
 * dead server; ours fail within seconds so a stuck relay shows up as errors, not as
 * piling-up requests. Nothing is logged, and errors are rebuilt from scrubbed fields only
 * (no `cause`), because a server's reply or a URL parse error can echo the password.
 */
export function createSmtpMailer(options: SmtpMailerOptions): Mailer {
  const secrets = credentialsOf(options.url);
  let transport: ReturnType<typeof Nodemailer.createTransport>;
  try {
    transport = loadNodemailer().createTransport(
      {
        url: options.url,
        connectionTimeout: options.connectionTimeoutMs ?? 10_000,
        greetingTimeout: options.greetingTimeoutMs ?? 10_000,
        socketTimeout: options.socketTimeoutMs ?? 30_000,
        logger: false,
        debug: false,
      },
      { from: options.from },
    );
  } catch (error) {
    throw new TypeError(`SMTP URL was refused: ${scrubbed(error, secrets).message}`);
  }

  return {
    async send(message) {
      assertSendable(message);
      try {
        const info = await transport.sendMail({
          to: message.to,
          subject: message.subject,
          text: message.text,
          ...(message.html === undefined ? {} : { html: message.html }),
          ...(message.idempotencyKey === undefined ? {} : { messageId: stableMessageId(message.idempotencyKey, options.from) }),
        });
        return { id: info.messageId };
      } catch (error) {
        const { message: reason, code, responseCode } = scrubbed(error, secrets);
        throw new MailDeliveryError(`mail delivery failed: ${reason}`, code, responseCode);
      }
    },
  };
}

function credentialsOf(url: string): string[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Node's URL error keeps the whole input (password included) in `error.input`.
    throw new TypeError('SMTP URL is not a valid URL');
  }
  if (parsed.protocol !== 'smtp:' && parsed.protocol !== 'smtps:') {
    throw new TypeError('SMTP URL must start with smtp:// or smtps://');
  }
  const user = safeDecode(parsed.username);
  const pass = safeDecode(parsed.password);
  const forms = [parsed.password, pass];
  // Some providers' user names are key ids (SES); a very short one is scrubbed from
  // nothing, or it would blank out ordinary words in the message.
  if (user.length >= 4) forms.push(parsed.username, user);
  // AUTH PLAIN and LOGIN send the password base64-encoded, and a reply could echo that.
  if (pass !== '') {
    forms.push(Buffer.from(pass).toString('base64'), Buffer.from(`\0${user}\0${pass}`).toString('base64'));
  }
  // Longest first, so a secret inside another is never left half-replaced.
  return [...new Set(forms.filter((form) => form.length > 0))].sort((a, b) => b.length - a.length);
}

function scrubbed(error: unknown, secrets: readonly string[]) {
  const scrub = (text: string) => secrets.reduce((out, secret) => out.split(secret).join('***'), text);
  const fields = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  return {
    message: scrub(typeof fields.message === 'string' ? fields.message : String(error)),
    code: typeof fields.code === 'string' ? scrub(fields.code) : undefined,
    responseCode: typeof fields.responseCode === 'number' ? fields.responseCode : undefined,
  };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
