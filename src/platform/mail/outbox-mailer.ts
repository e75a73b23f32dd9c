import { randomUUID } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assertSendable, stableMessageId, type Mailer } from './mailer.js';

export interface OutboxMessage {
  id: string;
  date: string;
  from: string;
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** Set when the sender gave an idempotency key: what SMTP would send as Message-ID. */
  message_id?: string;
}

/**
 * A mailer that writes each message to `<directory>/<timestamp>-<id>.json` instead of
 * sending it: the default when no SMTP server is configured, and what tests read.
 * Messages hold password-reset links, so the directory is 0700 and each file 0600.
 * Files are written under a dot-name and renamed, so a reader never sees half a message.
 */
export function createOutboxMailer(options: { directory: string; from: string }): Mailer {
  return {
    async send(message) {
      assertSendable(message);
      const now = new Date();
      const id = randomUUID();
      const record: OutboxMessage = { id, date: now.toISOString(), from: options.from, ...pickMessage(message) };
      if (message.idempotencyKey !== undefined) record.message_id = stableMessageId(message.idempotencyKey, options.from);
      // ISO time without ':' (not allowed in Windows file names) sorts in sending order.
      const name = `${now.toISOString().replace(/[:.]/g, '-')}-${id}.json`;
      await mkdir(options.directory, { recursive: true, mode: 0o700 });
      const partial = join(options.directory, `.${name}.partial`);
      await writeFile(partial, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      await rename(partial, join(options.directory, name));
      return { id };
    },
  };
}

// Only the known fields: a caller's extra properties must not end up on disk unnoticed.
function pickMessage(message: { to: string; subject: string; text: string; html?: string }) {
  const { to, subject, text, html } = message;
  return html === undefined ? { to, subject, text } : { to, subject, text, html };
}
