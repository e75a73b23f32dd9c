import { createServer, type Server, type Socket } from 'node:net';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { createSmtpMailer, MailDeliveryError } from './smtp-mailer.js';

interface ReceivedMail {
  auth: string | null;
  from: string;
  to: string[];
  data: string;
}

type AuthBehaviour = 'none' | 'accept' | 'reject-echoing-credentials';

/**
 * Just enough of an SMTP server (RFC 5321) to receive one message per connection:
 * 220, EHLO → 250, [AUTH PLAIN → 235/535], MAIL FROM, RCPT TO, DATA → 354, '.' → 250, QUIT → 221.
 */
async function startSmtpServer(auth: AuthBehaviour = 'none', greet = true) {
  const received: ReceivedMail[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const mail: ReceivedMail = { auth: null, from: '', to: [], data: '' };
    let inData = false;
    let buffered = '';
    const reply = (line: string) => socket.write(`${line}\r\n`);
    if (greet) reply('220 localhost ESMTP test');
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      let end: number;
      while ((end = buffered.indexOf('\r\n')) >= 0) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            received.push({ ...mail, to: [...mail.to] });
            reply('250 2.0.0 queued');
          } else {
            mail.data += `${line.startsWith('..') ? line.slice(1) : line}\n`;
          }
          continue;
        }
        const verb = line.split(' ')[0]?.toUpperCase();
        if (verb === 'EHLO') {
          reply('250-localhost');
          if (auth !== 'none') reply('250-AUTH PLAIN');
          reply('250 8BITMIME');
        } else if (verb === 'AUTH') {
          const credentials = Buffer.from(line.split(' ')[2] ?? '', 'base64').toString('utf8');
          mail.auth = credentials;
          if (auth === 'accept') reply('235 2.7.0 accepted');
          else reply(`535 5.7.8 rejected ${line.split(' ')[2]} (${credentials.replace(/\0/g, ':')})`);
        } else if (verb === 'MAIL') {
          mail.from = line.slice('MAIL FROM:'.length).split(' ')[0] ?? '';
          reply('250 2.1.0 ok');
        } else if (verb === 'RCPT') {
          mail.to.push(line.slice('RCPT TO:'.length));
          reply('250 2.1.5 ok');
        } else if (verb === 'DATA') {
          inData = true;
          reply('354 end with <CRLF>.<CRLF>');
        } else if (verb === 'QUIT') {
          reply('221 2.0.0 bye');
          socket.end();
        } else {
          reply('250 ok');
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

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
