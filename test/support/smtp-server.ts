import { createServer, type Server, type Socket } from 'node:net';

export interface ReceivedMail {
  auth: string | null;
  from: string;
  to: string[];
  data: string;
}

export type AuthBehaviour = 'none' | 'accept' | 'reject-echoing-credentials';

/**
 * Just enough of an SMTP server (RFC 5321) to receive one message per connection:
 * 220, EHLO → 250, [AUTH PLAIN → 235/535], MAIL FROM, RCPT TO, DATA → 354, '.' → 250, QUIT → 221.
 */
export async function startSmtpServer(auth: AuthBehaviour = 'none', greet = true) {
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

