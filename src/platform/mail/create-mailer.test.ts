import { createServer } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
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
