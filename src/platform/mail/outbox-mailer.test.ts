import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createOutboxMailer, type OutboxMessage } from './outbox-mailer.js';

const root = mkdtempSync(join(tmpdir(), 'rampart-outbox-'));
let runs = 0;
const freshDirectory = () => join(root, `run-${++runs}`, 'outbox');
const readOutbox = (directory: string): OutboxMessage[] =>
  readdirSync(directory)
    .sort()
    .map((name) => JSON.parse(readFileSync(join(directory, name), 'utf8')) as OutboxMessage);

describe('outbox mailer', () => {
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('writes each message as <timestamp>-<id>.json, creating the directory on first send', async () => {
    const directory = freshDirectory();
    const mailer = createOutboxMailer({ directory, from: 'Rampart <no-reply@example.com>' });
    const { id } = await mailer.send({
      to: 'ada@example.com',
      subject: 'Reset your password',
      text: 'Open https://example.com/reset#token',
      html: '<p>Open <a href="https://example.com/reset#token">this link</a></p>',
    });
    const [name] = readdirSync(directory);
    expect(name).toMatch(new RegExp(`^\\d{4}-\\d{2}-\\d{2}T\\d{2}-\\d{2}-\\d{2}-\\d{3}Z-${id}\\.json$`));
    expect(readOutbox(directory)).toEqual([
      {
        id,
        date: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
        from: 'Rampart <no-reply@example.com>',
        to: 'ada@example.com',
        subject: 'Reset your password',
        text: 'Open https://example.com/reset#token',
        html: '<p>Open <a href="https://example.com/reset#token">this link</a></p>',
      },
    ]);
  });

  it.skipIf(process.platform === 'win32')('keeps messages readable by the owner only (file 0600, directory 0700)', async () => {
    const directory = freshDirectory();
    await createOutboxMailer({ directory, from: 'no-reply@example.com' }).send({
      to: 'ada@example.com',
      subject: 'Your sign-in link',
      text: 'secret link',
    });
    const [name] = readdirSync(directory) as [string];
    expect(statSync(join(directory, name)).mode & 0o777).toBe(0o600);
    expect(statSync(directory).mode & 0o777).toBe(0o700);
  });

  it('gives concurrent sends distinct files and ids, none lost', async () => {
    const directory = freshDirectory();
    const mailer = createOutboxMailer({ directory, from: 'no-reply@example.com' });
    const sent = await Promise.all(
      Array.from({ length: 50 }, (_, i) => mailer.send({ to: `user${i}@example.com`, subject: `Message ${i}`, text: `${i}` })),
    );
    expect(new Set(sent.map((s) => s.id)).size).toBe(50);
    const files = readdirSync(directory);
    expect(files).toHaveLength(50);
    expect(files.every((name) => name.endsWith('.json'))).toBe(true);
    expect(new Set(readOutbox(directory).map((m) => m.to)).size).toBe(50);
  });

  it('keeps only the message fields, not extra properties a caller passed', async () => {
    const directory = freshDirectory();
    const message = { to: 'ada@example.com', subject: 'Hi', text: 'Hello', password: 'hunter2' };
    await createOutboxMailer({ directory, from: 'no-reply@example.com' }).send(message);
    expect(readOutbox(directory)[0]).not.toHaveProperty('password');
  });

  it.each([
    ['a line break in the subject', { to: 'ada@example.com', subject: 'Hi\r\nBcc: eve@example.com', text: 'x' }],
    ['a line break in the recipient', { to: 'ada@example.com\nBcc: eve@example.com', subject: 'Hi', text: 'x' }],
    ['an empty recipient', { to: ' ', subject: 'Hi', text: 'x' }],
  ])('refuses %s and writes nothing', async (_name, message) => {
    const directory = freshDirectory();
    await expect(createOutboxMailer({ directory, from: 'no-reply@example.com' }).send(message)).rejects.toThrow(TypeError);
    expect(() => readdirSync(directory)).toThrow();
  });
});
