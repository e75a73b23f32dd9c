import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { capturingLogger, contactTestBed, memberOf } from '../../../test/support/contact-feature.js';
import { databaseTargets, freshDatabasePerTest } from '../../../test/support/databases.js';
import { createOutboxMailer } from '../../platform/mail/outbox-mailer.js';
import type { JobContext, JobDefinition } from '../../platform/queue/job-types.js';
import { contactJobs } from './jobs.js';
import { receiveContactMessage } from './submit.js';

const submission = { name: 'Ann Example', email: 'ann@example.com', message: 'Hello,\nplease call me back.' };

describe.each(databaseTargets())('contact.notify job ($name)', (factory) => {
  const fresh = freshDatabasePerTest(factory);
  let outbox: string | undefined;
  afterEach(async () => {
    if (outbox) await rm(outbox, { recursive: true, force: true });
    outbox = undefined;
  });

  async function setUp(inbox: string | undefined) {
    const bed = await contactTestBed(fresh.handle);
    outbox = await mkdtemp(join(tmpdir(), 'rampart-contact-'));
    const [job] = contactJobs({ db: fresh.handle.db, fieldKeys: bed.feature.fieldKeys, mailer: createOutboxMailer({ directory: outbox, from: 'Rampart <no-reply@localhost>' }), inbox }) as [JobDefinition];
    const { logger, lines } = capturingLogger();
    const context: JobContext = { id: 'job-1', type: job.type, attempt: 1, logger, signal: new AbortController().signal, correlationId: 'corr-job' };
    const tenantId = await bed.newTenant();
    const { id } = await receiveContactMessage(bed.feature, memberOf(tenantId), submission, { correlationId: 'corr-job', logger: capturingLogger().logger });
    return { job, context, lines, id, tenantId, payload: bed.queue.calls[0]!.payload };
  }

  const mails = async () => {
    const names = (await readdir(outbox!)).filter((name) => name.endsWith('.json'));
    return Promise.all(names.map(async (name) => JSON.parse(await readFile(join(outbox!, name), 'utf8')) as { to: string; subject: string; text: string; message_id?: string }));
  };

  it('mails the decrypted message to the inbox, and logs its id but not its content', async () => {
    const { job, context, lines, id, tenantId, payload } = await setUp('inbox@example.org');
    await job.run(payload, context);

    const [mail, ...more] = await mails();
    expect(more).toEqual([]);
    expect(mail).toMatchObject({ to: 'inbox@example.org', subject: `Contact message ${id}` });
    expect(mail!.text).toContain('From: Ann Example <ann@example.com>');
    expect(mail!.text).toContain('Hello,\nplease call me back.');
    expect(mail!.text).toContain(`Message id: ${id}`);
    expect(mail!.text).toContain(`Tenant: ${tenantId}`);
    expect(lines.join('')).toContain(id);
    expect(lines.join('')).not.toMatch(/Ann|ann@example|call me back|inbox@example/);
  });

  it('mails a retried message under the same Message-ID, so the inbox can tell it is one message', async () => {
    const { job, context, id, payload } = await setUp('inbox@example.org');
    await job.run(payload, context);
    await job.run(payload, { ...context, attempt: 2 });
    const sent = await mails();
    expect(sent).toHaveLength(2);
    expect(sent.map((mail) => mail.message_id)).toEqual([`<contact.${id}@localhost>`, `<contact.${id}@localhost>`]);
  });

  it('completes without mailing when no inbox is configured, and says so', async () => {
    const { job, context, lines, payload } = await setUp(undefined);
    await job.run(payload, context);
    expect(await mails()).toEqual([]);
    expect(lines.join('')).toContain('no CONTACT_INBOX configured');
  });

  it('completes without mailing when the message was erased before the job ran', async () => {
    const { job, context, lines, id, payload } = await setUp('inbox@example.org');
    await fresh.handle.db.deleteFrom('contact_messages').where('id', '=', id).execute();
    await job.run(payload, context);
    expect(await mails()).toEqual([]);
    expect(lines.join('')).toContain('no longer exists');
  });

  it('fails a payload without a message id, which no retry could mend', async () => {
    const { job, context } = await setUp('inbox@example.org');
    for (const payload of [null, {}, { messageId: 42 }, { messageId: "x' or 1=1 --" }]) {
      await expect(job.run(payload, context)).rejects.toThrow(/payload has no messageId/);
    }
    expect(await mails()).toEqual([]);
  });
});
