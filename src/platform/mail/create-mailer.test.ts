import { createServer } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startSmtpServer } from '../../../test/support/smtp-server.js';
import { createMailer } from './create-mailer.js';
import { MailDeliveryError } from './smtp-mailer.js';

const root = mkdtempSync(join(tmpdir(), 'rampart-create-mailer-'));
const message = { to: 'ada@example.com', subject: 'Hi', text: 'Hello' };

describe('createMailer', () => {
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it.each([undefined, ''])('writes to the outbox when the SMTP URL is %j', async (smtpUrl) => {
    const outboxDirectory = join(root, `outbox-${String(smtpUrl)}`);
    await createMailer({ smtpUrl, outboxDirectory, from: 'no-reply@example.com' }).send(message);
    expect(readdirSync(outboxDirectory)).toHaveLength(1);
  });

  it('sends over SMTP, not to the outbox, when a URL is given', async () => {
    // A closed port: reaching it at all proves the SMTP mailer was chosen.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const outboxDirectory = join(root, 'unused-outbox');
    const mailer = createMailer({ smtpUrl: `smtp://127.0.0.1:${port}`, outboxDirectory, from: 'no-reply@example.com' });
    await expect(mailer.send(message)).rejects.toThrow(MailDeliveryError);
    expect(existsSync(outboxDirectory)).toBe(false);
  });
});

describe('createMailer with a rotating SMTP URL', () => {
  it('sends each message through the URL current at that moment', async () => {
    const first = await startSmtpServer();
    const second = await startSmtpServer();
    try {
      let url = `smtp://127.0.0.1:${first.port}`;
      const mailer = createMailer({ smtpUrl: () => url, outboxDirectory: join(root, 'rotating-outbox'), from: 'no-reply@example.com' });
      await mailer.send(message);
      url = `smtp://127.0.0.1:${second.port}`;
      await mailer.send({ ...message, subject: 'After rotation' });
      const subjects = (server: typeof first) => server.received.map((mail) => /^Subject: (.*)$/m.exec(mail.data)?.[1]);
      expect(subjects(first)).toEqual(['Hi']);
      expect(subjects(second)).toEqual(['After rotation']);
      // A malformed rotated value fails the send, naming no part of it.
      url = 'smtp//broken:pw-that-must-not-leak@';
      const error = await mailer.send(message).catch((e: unknown) => e as Error);
      expect(error).toBeInstanceOf(TypeError);
      expect(String(error)).not.toContain('pw-that-must-not-leak');
    } finally {
      await first.close();
      await second.close();
    }
  });
});
