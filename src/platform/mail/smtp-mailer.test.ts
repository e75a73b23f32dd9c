import { createServer } from 'node:net';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { startSmtpServer, type ReceivedMail } from '../../../test/support/smtp-server.js';
import { createSmtpMailer, MailDeliveryError } from './smtp-mailer.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const PASSWORD = 'S3cret-P@ss/word';
const userinfo = `mailer-user:${encodeURIComponent(PASSWORD)}`;
const leaks = (error: unknown) => {
  const rendered = `${String(error)}\n${inspect(error, { depth: 5 })}\n${JSON.stringify(error)}`;
  return [PASSWORD, encodeURIComponent(PASSWORD), Buffer.from(PASSWORD).toString('base64')].filter((s) =>
    rendered.includes(s),
  );
};

describe('SMTP mailer', () => {
  const servers: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('delivers a message to the SMTP server, signing in with the URL credentials', async () => {
    const server = await startSmtpServer('accept');
    servers.push(server);
    const mailer = createSmtpMailer({ url: `smtp://${userinfo}@127.0.0.1:${server.port}`, from: 'no-reply@example.com' });
    const { id } = await mailer.send({
      to: 'ada@example.com',
      subject: 'Reset your password',
      text: 'Open https://example.com/reset to choose a new password.',
    });
    expect(id).toMatch(/^<.+@.+>$/);
    expect(server.received).toHaveLength(1);
    const [mail] = server.received as [ReceivedMail];
    expect(mail.auth).toBe(`\0mailer-user\0${PASSWORD}`);
    expect(mail.from).toBe('<no-reply@example.com>');
    expect(mail.to).toEqual(['<ada@example.com>']);
    expect(mail.data).toContain('Subject: Reset your password');
    expect(mail.data).toContain('To: ada@example.com');
    expect(mail.data).toContain('Open https://example.com/reset to choose a new password.');
    expect(mail.data).toContain(`Message-ID: ${id}`);
  });

  it('sends the same Message-ID on every send of a message with an idempotency key', async () => {
    const server = await startSmtpServer();
    servers.push(server);
    const mailer = createSmtpMailer({ url: `smtp://127.0.0.1:${server.port}`, from: 'Rampart <no-reply@mail.example.com>' });
    const message = { to: 'inbox@example.com', subject: 'Contact', text: 'body', idempotencyKey: 'contact.5f0c6b1e-8d2a-4c3b-9e4f-0a1b2c3d4e5f' };
    const first = await mailer.send(message);
    const retry = await mailer.send(message);
    expect(first.id).toBe('<contact.5f0c6b1e-8d2a-4c3b-9e4f-0a1b2c3d4e5f@mail.example.com>');
    expect(retry.id).toBe(first.id);
    expect(server.received.map((mail) => (mail as ReceivedMail).data.match(/^Message-ID: (.*)$/m)?.[1]?.trim())).toEqual([first.id, first.id]);
    // Without a key, each send gets a new id.
    const [a, b] = [await mailer.send({ to: 'inbox@example.com', subject: 'x', text: 'y' }), await mailer.send({ to: 'inbox@example.com', subject: 'x', text: 'y' })];
    expect(a.id).not.toBe(b.id);
  });

  it('refuses an idempotency key that could break the header, and sends nothing', async () => {
    const server = await startSmtpServer();
    servers.push(server);
    const mailer = createSmtpMailer({ url: `smtp://127.0.0.1:${server.port}`, from: 'no-reply@example.com' });
    for (const idempotencyKey of ['', 'a>b', 'a b', 'x\r\nBcc: evil@example.com', 'a@b', '.'.repeat(129)]) {
      await expect(mailer.send({ to: 'inbox@example.com', subject: 'x', text: 'y', idempotencyKey })).rejects.toThrow(/idempotency key/);
    }
    expect(server.received).toEqual([]);
  });

  it('sends the HTML part alongside the text when given', async () => {
    const server = await startSmtpServer();
    servers.push(server);
    const mailer = createSmtpMailer({ url: `smtp://127.0.0.1:${server.port}`, from: 'no-reply@example.com' });
    await mailer.send({ to: 'ada@example.com', subject: 'Hi', text: 'plain body', html: '<p>html body</p>' });
    const [mail] = server.received as [ReceivedMail];
    expect(mail.data).toContain('multipart/alternative');
    expect(mail.data).toContain('plain body');
    expect(mail.data).toContain('<p>html body</p>');
  });

  it('rejects without the password anywhere in the error when the server is down', async () => {
    const port = await freePort();
    const mailer = createSmtpMailer({ url: `smtp://${userinfo}@127.0.0.1:${port}`, from: 'no-reply@example.com' });
    const error = await mailer.send({ to: 'ada@example.com', subject: 'Hi', text: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MailDeliveryError);
    expect((error as MailDeliveryError).message).toMatch(/ECONNREFUSED/);
    expect((error as MailDeliveryError).code).toBeDefined();
    expect(leaks(error)).toEqual([]);
  });

  it('scrubs the password from a server reply that echoes the credentials', async () => {
    const server = await startSmtpServer('reject-echoing-credentials');
    servers.push(server);
    const mailer = createSmtpMailer({ url: `smtp://${userinfo}@127.0.0.1:${server.port}`, from: 'no-reply@example.com' });
    const error = await mailer.send({ to: 'ada@example.com', subject: 'Hi', text: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MailDeliveryError);
    expect((error as MailDeliveryError).responseCode).toBe(535);
    expect((error as MailDeliveryError).message).toContain('***');
    expect(leaks(error)).toEqual([]);
  });

  it('gives up on a server that accepts the connection but never greets, within the greeting timeout', async () => {
    const server = await startSmtpServer('none', false);
    servers.push(server);
    const mailer = createSmtpMailer({
      url: `smtp://127.0.0.1:${server.port}`,
      from: 'no-reply@example.com',
      greetingTimeoutMs: 200,
    });
    const started = Date.now();
    await expect(mailer.send({ to: 'ada@example.com', subject: 'Hi', text: 'x' })).rejects.toThrow(MailDeliveryError);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('refuses a subject that would inject a header, before connecting', async () => {
    const mailer = createSmtpMailer({ url: `smtp://127.0.0.1:${await freePort()}`, from: 'no-reply@example.com' });
    await expect(mailer.send({ to: 'ada@example.com', subject: 'Hi\r\nBcc: eve@example.com', text: 'x' })).rejects.toThrow(
      TypeError,
    );
  });

  it.each([
    ['an unparsable URL', `smtp://${userinfo}@[bad`],
    ['another scheme', `https://${userinfo}@mail.example.com`],
  ])('refuses %s at creation, without echoing it', (_name, url) => {
    let error: unknown;
    try {
      createSmtpMailer({ url, from: 'no-reply@example.com' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TypeError);
    expect(leaks(error)).toEqual([]);
  });
});
